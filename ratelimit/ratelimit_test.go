package ratelimit

import (
	"fmt"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	for ip, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"::ffff:203.0.113.7":   "203.0.113.7",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":      "2001:db8:1:3::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not an address":       "not an address",
		"":                     "",
	} {
		if got := ClientKey(ip); got != want {
			t.Errorf("ClientKey(%q) = %q, want %q", ip, got, want)
		}
	}
}

func TestWindow(t *testing.T) {
	w := &Window{Max: 3, Per: time.Hour}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range 3 {
		if !w.Allow("a", t0.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("event %d refused", i+1)
		}
	}
	if w.Allow("a", t0.Add(10*time.Minute)) {
		t.Error("a fourth event within the hour was allowed")
	}
	if !w.Allow("b", t0.Add(10*time.Minute)) {
		t.Error("another key was refused")
	}
	// The refused event was not counted: one slot frees an hour after the
	// first event.
	if w.Allow("a", t0.Add(59*time.Minute)) {
		t.Error("allowed before the first event left the window")
	}
	if !w.Allow("a", t0.Add(time.Hour)) {
		t.Error("refused once the first event left the window")
	}
	if w.Allow("a", t0.Add(time.Hour+30*time.Second)) {
		t.Error("allowed a fourth event again")
	}
	if (&Window{Max: 0, Per: time.Hour}).Allow("a", t0) {
		t.Error("Max 0 allowed an event")
	}
}

// TestWindowForgets: past maxKeys, idle keys are forgotten and the map stays
// bounded, while the keys' limits still hold.
func TestWindowForgets(t *testing.T) {
	w := &Window{Max: 1, Per: time.Minute}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for i := range maxKeys {
		w.Allow(fmt.Sprint("k", i), t0)
	}
	if w.Allow("k7", t0.Add(time.Second)) {
		t.Error("k7 was allowed twice within its minute")
	}
	t1 := t0.Add(2 * time.Minute)
	if !w.Allow("busy", t1) {
		t.Fatal("a new key was refused")
	}
	if n := len(w.seen); n != 1 {
		t.Errorf("%d keys remembered after the idle ones left the window, want 1", n)
	}
	if w.Allow("busy", t1.Add(time.Second)) {
		t.Error("the busy key's event was forgotten")
	}
}
