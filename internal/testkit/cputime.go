package testkit

import (
	"syscall"
	"time"
)

// CPUTime is the CPU time (user and system) the process has used so far.
// A benchmark on a machine shared with other work reports the CPU each of
// its sides took per operation beside their rates: the rates follow the
// share of the machine the process got, the CPU per operation does not.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
