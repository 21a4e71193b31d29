//go:build unix

package redistest

import (
	"syscall"
	"testing"
)

// Freeze stops the server's process (SIGSTOP) without closing anything: a
// hung server, whose connections accept bytes and never answer. Thaw ends
// it, and the server then runs what it was sent meanwhile.
func (r *Restartable) Freeze(t testing.TB) { r.signal(t, syscall.SIGSTOP) }

// Thaw lets a frozen server run again (SIGCONT).
func (r *Restartable) Thaw(t testing.TB) { r.signal(t, syscall.SIGCONT) }

func (r *Restartable) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if r.p == nil {
		t.Fatal("redistest: signal to a server that is not running")
	}
	if err := r.p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("redistest: %v to redis-server: %v", sig, err)
	}
}
