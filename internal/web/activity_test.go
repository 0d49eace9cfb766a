package web

import (
	"testing"
	"time"
)

func TestActivityForgetsClosedTabs(t *testing.T) {
	a := newActivity()
	t0 := time.Unix(1_800_000_000, 0)
	a.set(1, 10, "Anna", true, t0)
	if got := a.typing(1, 11, t0.Add(time.Second)); len(got) != 1 || got[0] != "Anna" {
		t.Fatalf("typing = %v, want [Anna]", got)
	}
	if got := a.typing(1, 10, t0); len(got) != 0 {
		t.Errorf("an agent is warned about their own typing: %v", got)
	}
	if got := a.typing(1, 11, t0.Add(typingTTL+time.Second)); len(got) != 0 {
		t.Errorf("typing outlives its mark: %v", got)
	}
	// Many conversations viewed once and then closed without a word.
	for c := int64(100); c < 400; c++ {
		a.set(c, 10, "Anna", false, t0)
	}
	a.set(999, 11, "Bram", false, t0.Add(time.Hour))
	if n := len(a.convs); n > 2 {
		t.Errorf("%d conversations still tracked after an hour of silence", n)
	}
	a.leave(999, 11)
	if _, ok := a.convs[999]; ok {
		t.Error("leaving keeps an empty conversation")
	}
}
