package storetest

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Changes is the change signal every store offers to the processes sharing
// it (views.Changes): "stored content changed, drop your cached pages".
type Changes interface {
	PublishChange(ctx context.Context) error
	SubscribeChanges(ctx context.Context, changed func()) error
}

// changeWait bounds every wait for an announcement to arrive. Stores deliver
// in well under a second; the bound only keeps a broken store from hanging
// the test.
const changeWait = 10 * time.Second

// TestChanges checks the change signal. open must return two stores on the
// same data (two processes, in effect), both closed when t ends. Subtests run
// in parallel.
func TestChanges(t *testing.T, open func(t *testing.T) (Changes, Changes)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b Changes)
	}{
		{"EachHearsTheOther", testChangesEachHearsTheOther},
		{"PublishWithoutListeners", testChangesPublishAlone},
		{"ConcurrentPublishers", testChangesConcurrentPublishers},
		{"StopsWhenCancelled", testChangesStop},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a, b := open(t)
			tc.fn(t, a, b)
		})
	}
}

// listen subscribes s until t ends and returns a channel that receives a
// value (or already holds one) after each call of changed.
func listen(t *testing.T, s Changes) <-chan struct{} {
	t.Helper()
	heard := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeChanges(ctx, func() {
			select {
			case heard <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("SubscribeChanges: %v", err)
		}
	})
	return heard
}

// publishUntilHeard publishes from s until heard receives: a subscription
// starts at some moment after SubscribeChanges was called, and what is
// published before it is not heard.
func publishUntilHeard(t *testing.T, what string, s Changes, heard <-chan struct{}) {
	t.Helper()
	deadline := time.After(changeWait)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.PublishChange(t.Context()); err != nil {
			t.Fatalf("%s: PublishChange: %v", what, err)
		}
		select {
		case <-heard:
			return
		case <-deadline:
			t.Fatalf("%s: the announcement was never heard", what)
		case <-tick.C:
		}
	}
}

func testChangesEachHearsTheOther(t *testing.T, a, b Changes) {
	heardByA, heardByB := listen(t, a), listen(t, b)
	publishUntilHeard(t, "b to a", b, heardByA)
	publishUntilHeard(t, "a to b", a, heardByB)
	// A second announcement is heard too, not only the first.
	publishUntilHeard(t, "b to a again", b, heardByA)
}

func testChangesPublishAlone(t *testing.T, a, _ Changes) {
	for range 3 {
		if err := a.PublishChange(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
}

// Both stores announce at once, many times: no announcement fails, and the
// listener still hears the next one.
func testChangesConcurrentPublishers(t *testing.T, a, b Changes) {
	var wg sync.WaitGroup
	for _, s := range []Changes{a, b, a, b} {
		wg.Go(func() {
			for range 20 {
				if err := s.PublishChange(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	publishUntilHeard(t, "after the burst", b, listen(t, a))
}

func testChangesStop(t *testing.T, a, _ Changes) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.SubscribeChanges(ctx, func() {}) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("SubscribeChanges after cancel: %v, want nil", err)
		}
	case <-time.After(changeWait):
		t.Fatal("SubscribeChanges did not return after its context was cancelled")
	}
}
