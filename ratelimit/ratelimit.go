// Package ratelimit holds what the site's rate limits share: which client a
// request counts as, and a small in-memory limit for what needs no store.
package ratelimit

import (
	"net/netip"
	"sync"
	"time"
)

// ClientKey is what a limit counts a client by: its IPv4 address, or for
// IPv6 its /64 network, which one household or server usually has whole (so
// that a client cannot step past a limit by changing the last 64 bits). An
// IPv4 address written IPv6-mapped counts as the IPv4 address; anything
// that is not an address counts as itself.
func ClientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// Window allows each key at most Max events in any Per. It lives in one
// process's memory: behind several processes, a client gets Max from each.
// It remembers at most maxKeys keys; past that, the keys idle longest are
// forgotten first.
type Window struct {
	Max int
	Per time.Duration

	mu   sync.Mutex
	seen map[string][]time.Time // by key: the times of its recent events, oldest first
}

// maxKeys bounds a Window's memory: ~100 bytes a key.
const maxKeys = 100_000

// Allow records an event for key at now and reports whether it is within
// the limit; an event refused is not recorded.
func (w *Window) Allow(key string, now time.Time) bool {
	if w.Max <= 0 {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = make(map[string][]time.Time)
	}
	ts := w.seen[key]
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= w.Per {
		i++
	}
	ts = ts[i:]
	if len(ts) >= w.Max {
		w.seen[key] = ts
		return false
	}
	if len(ts) == 0 && len(w.seen) >= maxKeys {
		w.forget(now)
	}
	w.seen[key] = append(ts, now)
	return true
}

// forget drops the keys with no event in the window, or, if none, every key
// whose last event is in the older half of the window.
func (w *Window) forget(now time.Time) {
	for _, cut := range []time.Duration{w.Per, w.Per / 2} {
		for k, ts := range w.seen {
			if now.Sub(ts[len(ts)-1]) >= cut {
				delete(w.seen, k)
			}
		}
		if len(w.seen) < maxKeys {
			return
		}
	}
	clear(w.seen)
}
