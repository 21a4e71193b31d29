package views

import (
	"context"
	"testing"
	"time"
)

// TestDigestRunnerStop: stop cancels the send running and returns only once
// it has returned; no send starts after.
func TestDigestRunnerStop(t *testing.T) {
	var r digestRunner
	started := make(chan struct{})
	returned := false
	if !r.start("2026-W49", func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		time.Sleep(50 * time.Millisecond) // recording what was sent
		returned = true
		return ctx.Err()
	}) {
		t.Fatal("the first send did not start")
	}
	<-started
	if r.start("2026-W49", func(context.Context) error { return nil }) {
		t.Error("a second send started beside the first")
	}
	r.stop()
	if !returned {
		t.Error("stop returned before the send did")
	}
	if running, week, err := r.state(); running || week != "2026-W49" || err == nil {
		t.Errorf("after stop: running %v, week %q, err %v", running, week, err)
	}
	if r.start("2026-W49", func(context.Context) error { return nil }) {
		t.Error("a send started after stop")
	}
}
