package testkit

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
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

// ProcessCPUTime is the CPU time process pid has used so far: the sum of
// its threads' run time in /proc/<pid>/task/*/schedstat, in nanoseconds,
// where getrusage counts a child only once it has exited.
func ProcessCPUTime(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	tasks, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatalf("the CPU time of process %d: %v", pid, err)
	}
	var total time.Duration
	for _, task := range tasks {
		stat, err := os.ReadFile(dir + "/" + task.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		ran, _, _ := strings.Cut(string(stat), " ")
		ns, err := strconv.ParseInt(ran, 10, 64)
		if err != nil {
			tb.Fatalf("the CPU time of process %d: schedstat %q: %v", pid, stat, err)
		}
		total += time.Duration(ns)
	}
	return total
}
