// Package messages is the contract between the ingress and the flows: the
// inbox subjects of front-end commands, the commands as stored, the
// outcomes the flows record for the front-end, and the operation keys
// both sides derive from a command. The ingress writes commands and reads
// outcomes; the flows read commands and write outcomes; neither imports
// the other.
package messages
