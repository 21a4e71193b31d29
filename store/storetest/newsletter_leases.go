package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// testClaimRace: four processes share a send of 500 deliveries, claiming ten
// at a time and reporting each batch as sent in one FinishDeliveries call.
// Every delivery is claimed exactly once, and all end up sent.
func testClaimRace(t *testing.T, s newsletter.Store) {
	const (
		week    = "2026-W10"
		total   = 500
		workers = 4
		batch   = 10
	)
	mustSaveIssue(t, s, newIssue(week))
	ids := subscriberIDs(addSubscribers(t, s, 0, total))
	for from := 0; from < total; from += 100 {
		mustPlan(t, s, week, 100, ids[from:from+100]...)
	}

	var mu sync.Mutex
	claimedBy := map[int64]string{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			<-start
			for range total {
				ds, err := s.ClaimDeliveries(t.Context(), week, owner, batch, base, time.Hour)
				if err != nil {
					t.Errorf("%s: ClaimDeliveries: %v", owner, err)
					return
				}
				if len(ds) == 0 {
					return
				}
				if len(ds) > batch || !slices.IsSorted(deliveryIDs(ds)) {
					t.Errorf("%s claimed %v; want at most %d in ascending order", owner, deliveryIDs(ds), batch)
				}
				mu.Lock()
				for _, d := range ds {
					if other, dup := claimedBy[d.SubscriberID]; dup {
						t.Errorf("subscriber %d claimed by %s and by %s", d.SubscriberID, other, owner)
					}
					claimedBy[d.SubscriberID] = owner
				}
				mu.Unlock()
				for i := range ds {
					ds[i].State, ds[i].Attempts, ds[i].SentAt = newsletter.DeliverySent, 1, base
				}
				if err := s.FinishDeliveries(t.Context(), ds); err != nil {
					t.Errorf("%s: FinishDeliveries: %v", owner, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if len(claimedBy) != total {
		t.Errorf("%d of %d deliveries were claimed", len(claimedBy), total)
	}
	for _, id := range ids {
		if _, ok := claimedBy[id]; !ok {
			t.Errorf("subscriber %d was never claimed", id)
			break
		}
	}
	countsAre(t, s, week, newsletter.DeliveryCounts{Sent: total})
	claimIs(t, s, week, "late", batch, base.Add(48*time.Hour))
}

// A lease the tests let run out; short, but long enough that the steps meant
// to happen while it is held do, on a slow machine too.
const shortTTL = 200 * time.Millisecond

// waitForLease asks for name as owner until it gets it, and returns when it
// did; it fails the test after ten seconds.
func waitForLease(t *testing.T, s newsletter.Store, name, owner string) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, err := s.AcquireLease(t.Context(), name, owner, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not get lease %q within ten seconds", owner, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func acquireIs(t *testing.T, s newsletter.Store, name, owner string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := s.AcquireLease(t.Context(), name, owner, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%q, %q): %v", name, owner, err)
	}
	if got != want {
		t.Errorf("AcquireLease(%q, %q) = %v, want %v", name, owner, got, want)
	}
}

func release(t *testing.T, s newsletter.Store, name, owner string) {
	t.Helper()
	if err := s.ReleaseLease(t.Context(), name, owner); err != nil {
		t.Fatalf("ReleaseLease(%q, %q): %v", name, owner, err)
	}
}

func testLeaseExclusive(t *testing.T, s newsletter.Store) {
	const name = "digest-send"
	acquireIs(t, s, name, "A", time.Hour, true)
	acquireIs(t, s, name, "B", time.Hour, false)
	acquireIs(t, s, name, "A", time.Hour, true) // renewing
	acquireIs(t, s, name, "B", time.Hour, false)
	acquireIs(t, s, "feed-poll", "B", time.Hour, true) // another name is another lease
	release(t, s, name, "B")                           // not B's: nothing happens
	acquireIs(t, s, name, "B", time.Hour, false)
	release(t, s, name, "A")
	acquireIs(t, s, name, "B", time.Hour, true)
	acquireIs(t, s, name, "A", time.Hour, false)
	acquireIs(t, s, "feed-poll", "A", time.Hour, false)
	release(t, s, "never-taken", "A")
	release(t, s, name, "B")
	release(t, s, name, "B") // twice is harmless
	acquireIs(t, s, name, "A", time.Hour, true)
}

// A lease nobody renews ends after its TTL, not before; then another owner
// gets it, and the first one no longer holds it.
func testLeaseExpiry(t *testing.T, s newsletter.Store) {
	const name = "digest-send"
	start := time.Now()
	acquireIs(t, s, name, "A", shortTTL, true)
	got := waitForLease(t, s, name, "B")
	if held := got.Sub(start); held < shortTTL-5*time.Millisecond {
		t.Errorf("B got a lease taken for %v after only %v", shortTTL, held)
	}
	acquireIs(t, s, name, "A", time.Hour, false)
	release(t, s, name, "A") // A's release after losing the lease does nothing
	acquireIs(t, s, name, "C", time.Hour, false)
}

// Renewing sets the end to now+ttl: a short lease renewed for an hour
// outlives its first TTL.
func testLeaseRenewal(t *testing.T, s newsletter.Store) {
	const name = "digest-send"
	acquireIs(t, s, name, "A", shortTTL, true)
	acquireIs(t, s, name, "A", time.Hour, true)
	// A probe lease taken after the renewal with the same short TTL: once
	// another owner gets it, A's first TTL has passed too, on the store's
	// own clock.
	acquireIs(t, s, "probe", "P", shortTTL, true)
	waitForLease(t, s, "probe", "Q")
	acquireIs(t, s, name, "B", time.Hour, false)
}

func testLeaseRace(t *testing.T, s newsletter.Store) {
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	var holders []int
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			ok, err := s.AcquireLease(t.Context(), "digest-send", fmt.Sprintf("process-%d", i), time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				holders = append(holders, i)
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(holders) != 1 {
		t.Errorf("processes %v hold the lease, want exactly one", holders)
	}
}

func testLeaseBadInput(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	if _, err := s.AcquireLease(ctx, "", "A", time.Hour); err == nil {
		t.Error("AcquireLease with an empty name succeeded")
	}
	if _, err := s.AcquireLease(ctx, "digest-send", "", time.Hour); err == nil {
		t.Error("AcquireLease with an empty owner succeeded")
	}
	acquireIs(t, s, "digest-send", "A", time.Hour, true)
}
