//go:build unix

package telegram_test

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) the test process has used: on a
// shared machine it measures the work a benchmark did, where wall-clock
// time also counts the waits for a core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
