package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// testFinishDeliveriesOutcomes: one call records every kind of outcome, each
// as if finished alone; a delivery named twice ends as the later says.
func testFinishDeliveriesOutcomes(t *testing.T, s newsletter.Store) {
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	ids := subscriberIDs(addSubscribers(t, s, 0, 6))
	a, b, c, d, e, f := ids[0], ids[1], ids[2], ids[3], ids[4], ids[5]
	mustPlan(t, s, week, 6, ids...)
	claimIs(t, s, week, "p1", 10, base, ids...)

	sent := newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliverySent,
		Attempts: 1, Owner: "p1", SentAt: base.Add(time.Second).In(elsewhere)}
	later := newsletter.Delivery{Week: week, SubscriberID: b, State: newsletter.DeliveryPending,
		Attempts: 1, LastError: "451 try later", Owner: "p1", NotBefore: base.Add(2 * lease)}
	atOnce := newsletter.Delivery{Week: week, SubscriberID: c, State: newsletter.DeliveryPending,
		Attempts: 0, Owner: "p1"} // given back unsent, claimable at once
	failed := newsletter.Delivery{Week: week, SubscriberID: d, State: newsletter.DeliveryFailed,
		Attempts: 5, LastError: "550 no such user", Owner: "p1"}
	skipped := newsletter.Delivery{Week: week, SubscriberID: e, State: newsletter.DeliverySkipped, Owner: "p1"}
	firstF := newsletter.Delivery{Week: week, SubscriberID: f, State: newsletter.DeliveryFailed, Attempts: 1}
	thenF := newsletter.Delivery{Week: week, SubscriberID: f, State: newsletter.DeliverySent, Attempts: 2, SentAt: base}
	all := []newsletter.Delivery{sent, later, firstF, atOnce, failed, skipped, thenF}
	finish(t, s, all...)
	for _, x := range []newsletter.Delivery{sent, later, atOnce, failed, skipped, thenF} {
		x.Owner = ""
		deliveryIs(t, s, x)
	}
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 2, Sent: 2, Failed: 1, Skipped: 1})

	// Only the one given back is claimable now; the retry at its NotBefore.
	claimIs(t, s, week, "p2", 10, base, c)
	claimIs(t, s, week, "p2", 10, base.Add(lease-1))
	claimIs(t, s, week, "p3", 10, later.NotBefore, b, c)
	// Finishing the same batch again changes nothing more.
	finish(t, s, all...)
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 2, Sent: 2, Failed: 1, Skipped: 1})
}

// testFinishDeliveriesAbsent: absent deliveries (never planned, of an erased
// subscriber, of a week without an issue) do not keep the others from being
// recorded; the error wraps ErrNotFound and names them.
func testFinishDeliveriesAbsent(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	ids := subscriberIDs(addSubscribers(t, s, 0, 3))
	a, b, c := ids[0], ids[1], ids[2]
	mustPlan(t, s, week, 3, a, b, c)
	claimIs(t, s, week, "p1", 10, base, a, b, c)
	if err := s.DeleteSubscriber(ctx, c); err != nil {
		t.Fatal(err)
	}
	err := s.FinishDeliveries(ctx, []newsletter.Delivery{
		{Week: week, SubscriberID: a, State: newsletter.DeliverySent, Attempts: 1, SentAt: base},
		{Week: week, SubscriberID: 987654, State: newsletter.DeliverySent, Attempts: 1, SentAt: base},
		{Week: week, SubscriberID: c, State: newsletter.DeliverySkipped},
		{Week: "2026-W11", SubscriberID: b, State: newsletter.DeliverySent, Attempts: 1, SentAt: base},
		{Week: week, SubscriberID: b, State: newsletter.DeliverySkipped},
	})
	if !errors.Is(err, newsletter.ErrNotFound) {
		t.Fatalf("FinishDeliveries with absent deliveries: err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "987654") {
		t.Errorf("the error %q does not name the absent delivery to 987654", err)
	}
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliverySent, Attempts: 1, SentAt: base})
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: b, State: newsletter.DeliverySkipped})
	countsAre(t, s, week, newsletter.DeliveryCounts{Sent: 1, Skipped: 1})
	deliveryGone(t, s, week, 987654)
	deliveryGone(t, s, week, c)
	deliveryGone(t, s, "2026-W11", b)
	countsAre(t, s, "2026-W11", newsletter.DeliveryCounts{})
}

// testFinishDeliveriesWeeks: one call may hold deliveries of several weeks,
// interleaved; each lands in its own week.
func testFinishDeliveriesWeeks(t *testing.T, s newsletter.Store) {
	w1, w2 := "2026-W10", "2026-W11"
	mustSaveIssue(t, s, newIssue(w1))
	mustSaveIssue(t, s, newIssue(w2))
	ids := subscriberIDs(addSubscribers(t, s, 0, 2))
	a, b := ids[0], ids[1]
	for _, w := range []string{w1, w2} {
		mustPlan(t, s, w, 2, a, b)
		claimIs(t, s, w, "p1", 10, base, a, b)
	}
	ds := []newsletter.Delivery{
		{Week: w1, SubscriberID: a, State: newsletter.DeliverySent, Attempts: 1, SentAt: base},
		{Week: w2, SubscriberID: a, State: newsletter.DeliveryFailed, Attempts: 1, LastError: "550"},
		{Week: w1, SubscriberID: b, State: newsletter.DeliveryPending, Attempts: 1, LastError: "451", NotBefore: base.Add(time.Hour)},
		{Week: w2, SubscriberID: b, State: newsletter.DeliverySkipped},
	}
	finish(t, s, ds...)
	for _, d := range ds {
		deliveryIs(t, s, d)
	}
	countsAre(t, s, w1, newsletter.DeliveryCounts{Pending: 1, Sent: 1})
	countsAre(t, s, w2, newsletter.DeliveryCounts{Failed: 1, Skipped: 1})
	claimIs(t, s, w2, "p2", 10, base.Add(48*time.Hour))
	claimIs(t, s, w1, "p2", 10, base.Add(time.Hour), b)
}

// testFinishDeliveriesRace: four processes share a send of 300 deliveries,
// claiming seven at a time and finishing each batch in one call; the first
// attempt at every third delivery is given back as a retry due at once. Each
// delivery is sent exactly once, each given-back one claimed exactly twice.
func testFinishDeliveriesRace(t *testing.T, s newsletter.Store) {
	const (
		week    = "2026-W10"
		total   = 300
		workers = 4
		batch   = 7
	)
	mustSaveIssue(t, s, newIssue(week))
	ids := make([]int64, total)
	for i := range ids {
		ids[i] = int64(i + 1) // PlanDeliveries does not look IDs up
	}
	mustPlan(t, s, week, total, ids...)

	var mu sync.Mutex
	claims := map[int64]int{}
	sends := map[int64]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		owner := fmt.Sprintf("worker-%d", w)
		wg.Go(func() {
			<-start
			for range 2 * total {
				ds, err := s.ClaimDeliveries(t.Context(), week, owner, batch, base, time.Hour)
				if err != nil {
					t.Errorf("%s: ClaimDeliveries: %v", owner, err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for i := range ds {
					d := &ds[i]
					claims[d.SubscriberID]++
					if d.SubscriberID%3 == 0 && d.Attempts == 0 {
						d.State, d.Attempts, d.NotBefore = newsletter.DeliveryPending, 1, time.Time{}
					} else {
						d.State, d.Attempts, d.SentAt = newsletter.DeliverySent, d.Attempts+1, base
						sends[d.SubscriberID]++
					}
				}
				mu.Unlock()
				if err := s.FinishDeliveries(t.Context(), ds); err != nil {
					t.Errorf("%s: FinishDeliveries: %v", owner, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	for _, id := range ids {
		wantClaims := 1
		if id%3 == 0 {
			wantClaims = 2
		}
		if sends[id] != 1 || claims[id] != wantClaims {
			t.Errorf("delivery %d: sent %d times and claimed %d, want once and %d", id, sends[id], claims[id], wantClaims)
		}
	}
	countsAre(t, s, week, newsletter.DeliveryCounts{Sent: total})
	claimIs(t, s, week, "late", batch, base.Add(48*time.Hour))
}
