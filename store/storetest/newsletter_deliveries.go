package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// lease is how long the delivery tests' claims last on their fake clock.
const lease = 10 * time.Minute

func mustPlan(t *testing.T, s newsletter.Store, week string, want int, ids ...int64) {
	t.Helper()
	n, err := s.PlanDeliveries(t.Context(), week, ids)
	if err != nil {
		t.Fatalf("PlanDeliveries(%s, %v): %v", week, ids, err)
	}
	if n != want {
		t.Errorf("PlanDeliveries(%s, %v) = %d, want %d", week, ids, n, want)
	}
}

func mustClaim(t *testing.T, s newsletter.Store, week, owner string, n int, now time.Time) []newsletter.Delivery {
	t.Helper()
	ds, err := s.ClaimDeliveries(t.Context(), week, owner, n, now, lease)
	if err != nil {
		t.Fatalf("ClaimDeliveries(%s, %s, %d, %v): %v", week, owner, n, now, err)
	}
	return ds
}

// claimIs claims and requires exactly the subscriber IDs want, claimed by
// owner until now+lease.
func claimIs(t *testing.T, s newsletter.Store, week, owner string, n int, now time.Time, want ...int64) []newsletter.Delivery {
	t.Helper()
	ds := mustClaim(t, s, week, owner, n, now)
	if !slices.Equal(deliveryIDs(ds), want) && (len(ds) != 0 || len(want) != 0) {
		t.Errorf("ClaimDeliveries(%s, %s, %d, now %v) = %v, want %v",
			week, owner, n, now.Sub(base), deliveryIDs(ds), want)
	}
	for _, d := range ds {
		if d.Week != week || d.Owner != owner || !d.NotBefore.Equal(now.Add(lease)) || d.State != newsletter.DeliveryPending {
			t.Errorf("claimed delivery = %+v; want week %s, owner %s, pending, NotBefore now+lease", d, week, owner)
		}
	}
	return ds
}

func countsAre(t *testing.T, s newsletter.Store, week string, want newsletter.DeliveryCounts) {
	t.Helper()
	got, err := s.CountDeliveries(t.Context(), week)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("CountDeliveries(%s) = %+v, want %+v", week, got, want)
	}
}

func deliveryIs(t *testing.T, s newsletter.Store, want newsletter.Delivery) {
	t.Helper()
	got, err := s.Delivery(t.Context(), want.Week, want.SubscriberID)
	if err != nil {
		t.Fatalf("Delivery(%s, %d): %v", want.Week, want.SubscriberID, err)
	}
	if d := diffDelivery(got, want); d != "" {
		t.Errorf("Delivery(%s, %d): %s", want.Week, want.SubscriberID, d)
	}
}

func deliveryGone(t *testing.T, s newsletter.Store, week string, id int64) {
	t.Helper()
	if _, err := s.Delivery(t.Context(), week, id); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("Delivery(%s, %d): err = %v, want ErrNotFound", week, id, err)
	}
}

// testPlanDeliveries: planning adds one pending delivery per new subscriber,
// however often it is repeated, and says how many it added.
func testPlanDeliveries(t *testing.T, s newsletter.Store) {
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	subs := addSubscribers(t, s, 0, 5)
	a, b, c, d, e := subs[0].ID, subs[1].ID, subs[2].ID, subs[3].ID, subs[4].ID

	countsAre(t, s, week, newsletter.DeliveryCounts{})
	mustPlan(t, s, week, 3, c, a, b)
	mustPlan(t, s, week, 1, b, c, d, d)
	mustPlan(t, s, week, 0, a, b, c, d)
	mustPlan(t, s, week, 0)
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 4})
	for _, id := range []int64{a, b, c, d} {
		deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: id, State: newsletter.DeliveryPending})
	}
	deliveryGone(t, s, week, e)
	deliveryGone(t, s, "2026-W11", a)

	// Planning again after a claim and a finish changes neither.
	claimIs(t, s, week, "p1", 1, base, a)
	finish(t, s, newsletter.Delivery{Week: week, SubscriberID: b, State: newsletter.DeliverySent, Attempts: 1, SentAt: base})
	mustPlan(t, s, week, 1, a, b, e)
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliveryPending,
		Owner: "p1", NotBefore: base.Add(lease)})
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: b, State: newsletter.DeliverySent,
		Attempts: 1, SentAt: base})
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 4, Sent: 1})

	// The IDs are not looked up: a subscriber erased after the sender listed
	// it still gets a delivery, which the sender then skips.
	mustPlan(t, s, week, 1, e+1000)
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: e + 1000, State: newsletter.DeliveryPending})
}

func testPlanDeliveriesUnknownWeek(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	sub := mustAddSubscriber(t, s, newSubscriber(1))
	if _, err := s.PlanDeliveries(ctx, "2026-W10", []int64{sub.ID}); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("PlanDeliveries for a week with no issue: err = %v, want ErrNotFound", err)
	}
	deliveryGone(t, s, "2026-W10", sub.ID)
	countsAre(t, s, "2026-W10", newsletter.DeliveryCounts{})
	if ds, err := s.ClaimDeliveries(ctx, "2026-W10", "p1", 10, base, lease); err != nil || len(ds) != 0 {
		t.Errorf("ClaimDeliveries for a week with no issue = %v, %v; want none", deliveryIDs(ds), err)
	}
	missing := newsletter.Delivery{Week: "2026-W10", SubscriberID: sub.ID, State: newsletter.DeliverySent}
	if err := s.FinishDeliveries(ctx, []newsletter.Delivery{missing}); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("FinishDeliveries(missing): err = %v, want ErrNotFound", err)
	}
	countsAre(t, s, "2026-W10", newsletter.DeliveryCounts{})
}

// finish records ds in one FinishDeliveries call.
func finish(t *testing.T, s newsletter.Store, ds ...newsletter.Delivery) {
	t.Helper()
	if err := s.FinishDeliveries(t.Context(), ds); err != nil {
		t.Fatalf("FinishDeliveries(%+v): %v", ds, err)
	}
}

// testDeliveryLifecycle takes four deliveries through claim and every
// outcome: sent, a retry later, failed and skipped.
func testDeliveryLifecycle(t *testing.T, s newsletter.Store) {
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	subs := addSubscribers(t, s, 0, 4)
	a, b, c, d := subs[0].ID, subs[1].ID, subs[2].ID, subs[3].ID
	mustPlan(t, s, week, 4, a, b, c, d)
	t0 := base

	claimIs(t, s, week, "p1", 2, t0, a, b)
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliveryPending,
		Owner: "p1", NotBefore: t0.Add(lease)})
	claimIs(t, s, week, "p2", 10, t0.Add(time.Minute), c, d)
	claimIs(t, s, week, "p3", 10, t0.Add(lease-1)) // all four are claimed
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 4})

	sent := newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliverySent,
		Attempts: 1, Owner: "p1", SentAt: t0.Add(time.Second + 1).In(elsewhere)}
	retry := newsletter.Delivery{Week: week, SubscriberID: b, State: newsletter.DeliveryPending,
		Attempts: 1, LastError: "451 4.7.1 Greylisted, try again later", Owner: "p1",
		NotBefore: t0.Add(2*lease + 3).In(elsewhere)}
	failed := newsletter.Delivery{Week: week, SubscriberID: c, State: newsletter.DeliveryFailed,
		Attempts: 3, LastError: "550 5.1.1 <…> No such user — «ünïcode»", Owner: "p2"}
	skipped := newsletter.Delivery{Week: week, SubscriberID: d, State: newsletter.DeliverySkipped, Owner: "p2"}
	for _, x := range []newsletter.Delivery{sent, retry, failed, skipped} {
		finish(t, s, x)
		x.Owner = "" // cleared, whoever held the claim
		deliveryIs(t, s, x)
	}
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 1, Sent: 1, Failed: 1, Skipped: 1})

	// The leases have ended, but only the retry is pending, and not yet due.
	claimIs(t, s, week, "p3", 10, t0.Add(lease))
	claimIs(t, s, week, "p3", 10, retry.NotBefore.Add(-1))
	got := claimIs(t, s, week, "p3", 10, retry.NotBefore, b)
	if len(got) == 1 && (got[0].Attempts != 1 || got[0].LastError != retry.LastError) {
		t.Errorf("a claimed retry = %+v; want its Attempts and LastError kept", got[0])
	}
	// Sent, failed and skipped deliveries are never claimed again, however late.
	far := t0.Add(1000 * time.Hour)
	claimIs(t, s, week, "p4", 10, far, b)
	claimIs(t, s, week, "p5", 10, far.Add(lease-1))
	finish(t, s, newsletter.Delivery{Week: week, SubscriberID: b, State: newsletter.DeliverySent,
		Attempts: 2, SentAt: far})
	countsAre(t, s, week, newsletter.DeliveryCounts{Sent: 2, Failed: 1, Skipped: 1})
	claimIs(t, s, week, "p5", 10, far.Add(1000*time.Hour))
}

// testClaimOrder: claims come in ascending subscriber ID order, at most n at
// a time, whatever order they were planned in.
func testClaimOrder(t *testing.T, s newsletter.Store) {
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	subs := addSubscribers(t, s, 0, 11)
	ids := subscriberIDs(subs)
	shuffled := []int64{ids[7], ids[2], ids[10], ids[0], ids[5]}
	mustPlan(t, s, week, 5, shuffled...)
	mustPlan(t, s, week, 6, ids...)
	var got []int64
	for i := range 4 {
		ds := mustClaim(t, s, week, "p1", 3, base)
		if want := min(3, len(ids)-3*i); len(ds) != want {
			t.Errorf("claim %d: %d deliveries, want %d", i, len(ds), want)
		}
		got = append(got, deliveryIDs(ds)...)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("claimed %v, want %v", got, ids)
	}
	claimIs(t, s, week, "p1", 3, base)
	// Asking for more than there are returns what there is.
	claimIs(t, s, week, "p2", 1000, base.Add(lease), ids...)
}

// testClaimLeaseBoundary: a claim hides a delivery until exactly now+lease;
// then anyone may claim it.
func testClaimLeaseBoundary(t *testing.T, s newsletter.Store) {
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	subs := addSubscribers(t, s, 0, 2)
	a, b := subs[0].ID, subs[1].ID
	mustPlan(t, s, week, 2, a, b)
	t0 := base.In(elsewhere)
	claimIs(t, s, week, "p1", 1, t0, a)
	claimIs(t, s, week, "p2", 5, t0.Add(lease-1), b)
	claimIs(t, s, week, "p3", 5, t0.Add(lease-1))
	claimIs(t, s, week, "p3", 5, t0.Add(lease), a)
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliveryPending,
		Owner: "p3", NotBefore: t0.Add(2 * lease)})
	// p1's late report still lands: FinishDeliveries does not check the owner.
	finish(t, s, newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliverySent, Attempts: 1,
		Owner: "p1", SentAt: t0})
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliverySent,
		Attempts: 1, SentAt: t0})
}

func testClaimBadInput(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	sub := mustAddSubscriber(t, s, newSubscriber(1))
	mustPlan(t, s, week, 1, sub.ID)
	for _, n := range []int{0, -1} {
		if ds, err := s.ClaimDeliveries(ctx, week, "p1", n, base, lease); err != nil || len(ds) != 0 {
			t.Errorf("ClaimDeliveries(n %d) = %v, %v; want none, no error", n, deliveryIDs(ds), err)
		}
	}
	if _, err := s.ClaimDeliveries(ctx, week, "", 10, base, lease); err == nil {
		t.Error("ClaimDeliveries with an empty owner succeeded")
	}
	deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: sub.ID, State: newsletter.DeliveryPending})
}

// testFinishDeliveriesBadInput: an invalid State anywhere in a batch refuses
// the whole batch; the valid ones beside it are not written either.
func testFinishDeliveriesBadInput(t *testing.T, s newsletter.Store) {
	const week = "2026-W10"
	mustSaveIssue(t, s, newIssue(week))
	subs := addSubscribers(t, s, 0, 2)
	a, b := subs[0].ID, subs[1].ID
	mustPlan(t, s, week, 2, a, b)
	claimIs(t, s, week, "p1", 2, base, a, b)
	for _, st := range []newsletter.DeliveryState{"", "delivered"} {
		good := newsletter.Delivery{Week: week, SubscriberID: a, State: newsletter.DeliverySent, Attempts: 1, SentAt: base}
		bad := newsletter.Delivery{Week: week, SubscriberID: b, State: st, Attempts: 1}
		if err := s.FinishDeliveries(t.Context(), []newsletter.Delivery{good, bad}); err == nil {
			t.Errorf("FinishDeliveries with State %q succeeded", st)
		}
	}
	for _, id := range []int64{a, b} {
		deliveryIs(t, s, newsletter.Delivery{Week: week, SubscriberID: id, State: newsletter.DeliveryPending,
			Owner: "p1", NotBefore: base.Add(lease)})
	}
	countsAre(t, s, week, newsletter.DeliveryCounts{Pending: 2})
	if err := s.FinishDeliveries(t.Context(), nil); err != nil {
		t.Errorf("FinishDeliveries(nil): %v", err)
	}
}

// testDeliveriesPerWeek: each week's deliveries are its own.
func testDeliveriesPerWeek(t *testing.T, s newsletter.Store) {
	w1, w2 := "2026-W10", "2026-W11"
	mustSaveIssue(t, s, newIssue(w1))
	mustSaveIssue(t, s, newIssue(w2))
	subs := addSubscribers(t, s, 0, 3)
	ids := subscriberIDs(subs)
	mustPlan(t, s, w1, 3, ids...)
	mustPlan(t, s, w2, 2, ids[1:]...)
	claimIs(t, s, w1, "p1", 10, base, ids...)
	claimIs(t, s, w2, "p2", 10, base, ids[1:]...)
	finish(t, s, newsletter.Delivery{Week: w1, SubscriberID: ids[1], State: newsletter.DeliverySent, SentAt: base})
	countsAre(t, s, w1, newsletter.DeliveryCounts{Pending: 2, Sent: 1})
	countsAre(t, s, w2, newsletter.DeliveryCounts{Pending: 2})
	deliveryIs(t, s, newsletter.Delivery{Week: w2, SubscriberID: ids[1], State: newsletter.DeliveryPending,
		Owner: "p2", NotBefore: base.Add(lease)})
	deliveryGone(t, s, w2, ids[0])
}

// testDeleteSubscriber: erasing a subscriber erases its deliveries in every
// week and frees its Index; its ID is not given out again.
func testDeleteSubscriber(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	w1, w2 := "2026-W10", "2026-W11"
	mustSaveIssue(t, s, newIssue(w1))
	mustSaveIssue(t, s, newIssue(w2))
	subs := addSubscribers(t, s, 0, 3)
	a, b, c := subs[0], subs[1], subs[2]
	mustPlan(t, s, w1, 3, a.ID, b.ID, c.ID)
	mustPlan(t, s, w2, 2, a.ID, b.ID)
	finish(t, s, newsletter.Delivery{Week: w1, SubscriberID: a.ID, State: newsletter.DeliverySent, SentAt: base})

	if err := s.DeleteSubscriber(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscriber(ctx, a.ID); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("Subscriber after DeleteSubscriber: err = %v, want ErrNotFound", err)
	}
	if _, err := s.SubscriberByIndex(ctx, a.Index); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("SubscriberByIndex after DeleteSubscriber: err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSubscriber(ctx, a.ID); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("second DeleteSubscriber: err = %v, want ErrNotFound", err)
	}
	deliveryGone(t, s, w1, a.ID)
	deliveryGone(t, s, w2, a.ID)
	countsAre(t, s, w1, newsletter.DeliveryCounts{Pending: 2})
	countsAre(t, s, w2, newsletter.DeliveryCounts{Pending: 1})
	claimIs(t, s, w2, "p1", 10, base, b.ID)
	// The others are untouched.
	checkSubscriber(t, s, "a subscriber beside the erased one", b)
	deliveryIs(t, s, newsletter.Delivery{Week: w1, SubscriberID: c.ID, State: newsletter.DeliveryPending})

	again := newSubscriber(0) // a's address signs up again
	readded := mustAddSubscriber(t, s, again)
	if readded.ID == a.ID {
		t.Errorf("the re-added subscriber reuses the erased ID %d", a.ID)
	}
	deliveryGone(t, s, w1, readded.ID)
}
