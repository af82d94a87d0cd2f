//go:build !knockout

package knockout

// Built is false in every build without -tags knockout, the production
// binary's included: Off is then constant false.
const Built = false

// switchedOff is never read: Off is false before it looks.
const switchedOff Mechanism = ""
