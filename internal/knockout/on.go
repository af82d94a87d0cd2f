//go:build knockout

package knockout

import "os"

// Built is true in a binary built with -tags knockout: a test build.
const Built = true

// switchedOff is read once, at start: a process runs with one switch.
var switchedOff = Mechanism(os.Getenv(Env))
