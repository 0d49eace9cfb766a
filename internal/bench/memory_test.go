package bench

import (
	"runtime"
	"strings"
	"testing"
)

func TestStatusBytes(t *testing.T) {
	status := []byte("Name:\twebcare\nVmPeak:\t 2001000 kB\nVmHWM:\t  151234 kB\nVmRSS:\t  120000 kB\nRssAnon:\t  100000 kB\nBroken:\t12 pages\n")
	for _, c := range []struct {
		name string
		want int64
		ok   bool
	}{
		{"VmHWM", 151234 << 10, true},
		{"VmRSS", 120000 << 10, true},
		{"RssAnon", 100000 << 10, true},
		{"RssFile", 0, false},
		{"Broken", 0, false},
		{"Vm", 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := statusBytes(status, c.name)
			if got != c.want || ok != c.ok {
				t.Errorf("statusBytes(%q) = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestReadMemory(t *testing.T) {
	m := ReadMemory()
	if m.HeapInUse == 0 || m.GoSys == 0 {
		t.Errorf("no Go figures: %+v", m)
	}
	s := m.String()
	if runtime.GOOS == "linux" {
		if !m.Measured || m.PeakRSS < m.RSS || m.RSS == 0 {
			t.Errorf("resident set not read on Linux: %+v", m)
		}
		if !strings.Contains(s, "VmHWM") {
			t.Errorf("String() = %q, want the resident peak", s)
		}
	} else if !strings.Contains(s, "not measured") {
		t.Errorf("String() = %q, want it to say the resident set is not measured", s)
	}
}
