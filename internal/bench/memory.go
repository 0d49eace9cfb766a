package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// Memory is the process's memory as the operating system and the Go
// runtime see it. The resident figures include what the Go runtime does
// not know about: the embedded SQLite's page caches live in C memory
// (modernc.org/libc allocates outside the Go heap), and pages of a
// memory-mapped database file that were read count as file-backed.
type Memory struct {
	// Measured is false where the resident set is not read (anywhere
	// but Linux); the RSS fields are zero then.
	Measured bool
	// PeakRSS is the largest resident set of the process's life so far
	// (VmHWM), RSS the current one (VmRSS), which is RSSAnon (heap,
	// stacks, SQLite's caches) plus RSSFile (the binary, mapped files)
	// plus shared memory. Bytes.
	PeakRSS, RSS, RSSAnon, RSSFile int64
	// HeapInUse is the Go heap in use (runtime.MemStats.HeapInuse), and
	// GoSys everything the Go runtime took from the system. Bytes.
	HeapInUse, GoSys uint64
}

// ReadMemory reads the process's memory now. It does not fail: what it
// cannot read it leaves out, and says so in String.
func ReadMemory() Memory {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := Memory{HeapInUse: ms.HeapInuse, GoSys: ms.Sys}
	if runtime.GOOS != "linux" {
		return m
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return m
	}
	m.PeakRSS, m.Measured = statusBytes(b, "VmHWM")
	m.RSS, _ = statusBytes(b, "VmRSS")
	m.RSSAnon, _ = statusBytes(b, "RssAnon")
	m.RSSFile, _ = statusBytes(b, "RssFile")
	return m
}

// statusBytes finds a "Name:   1234 kB" line of /proc/self/status.
func statusBytes(status []byte, name string) (int64, bool) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != name {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, false
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		return n << 10, true
	}
	return 0, false
}

// String prints the figures in MB (10^6 bytes), the unit of the memory
// budget in docs/benchmarks.md.
func (m Memory) String() string {
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	rss := "resident set not measured on " + runtime.GOOS
	if m.Measured {
		rss = fmt.Sprintf("resident peak %s (VmHWM), final %s (VmRSS; %s anonymous, %s file-backed)",
			mb(m.PeakRSS), mb(m.RSS), mb(m.RSSAnon), mb(m.RSSFile))
	}
	return fmt.Sprintf("memory: %s; Go heap in use %s, Go runtime total %s", rss, mb(int64(m.HeapInUse)), mb(int64(m.GoSys)))
}
