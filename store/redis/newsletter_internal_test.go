package redis

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redistest"
)

// openNewsletter opens a store on a fresh prefix of the shared server or
// cluster.
func openNewsletter(t *testing.T, cluster bool) *Store {
	t.Helper()
	url := redistest.Server(t)
	if cluster {
		url = redistest.Cluster(t)
	}
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// onBoth runs fn against a server and a cluster.
func onBoth(t *testing.T, fn func(t *testing.T, s *Store)) {
	for _, c := range []struct {
		name    string
		cluster bool
	}{{"Server", false}, {"Cluster", true}} {
		t.Run(c.name, func(t *testing.T) { fn(t, openNewsletter(t, c.cluster)) })
	}
}

// saveAndPlan stores an issue of week and plans a delivery for IDs 1…n.
func saveAndPlan(t *testing.T, s *Store, week string, n int) {
	t.Helper()
	if _, _, err := s.SaveIssue(t.Context(), newsletter.Issue{Week: week, Subject: week}); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	added, err := s.PlanDeliveries(t.Context(), week, ids)
	if err != nil {
		t.Fatal(err)
	}
	if added != n {
		t.Fatalf("PlanDeliveries added %d, want %d", added, n)
	}
}

// Four processes claiming in small batches from one send together claim
// each of 500 deliveries exactly once.
func TestClaimDeliveriesConcurrent(t *testing.T) {
	onBoth(t, func(t *testing.T, s *Store) {
		const week, total, workers = "2026-W48", 500, 4
		saveAndPlan(t, s, week, total)
		now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		claimed := make([][]int64, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range workers {
			wg.Go(func() {
				<-start
				owner := fmt.Sprintf("worker-%d", w)
				for {
					ds, err := s.ClaimDeliveries(t.Context(), week, owner, 7, now, time.Hour)
					if err != nil {
						errs[w] = err
						return
					}
					if len(ds) == 0 {
						return
					}
					for _, d := range ds {
						if d.Owner != owner {
							errs[w] = fmt.Errorf("claimed %d with owner %q, want %q", d.SubscriberID, d.Owner, owner)
							return
						}
						claimed[w] = append(claimed[w], d.SubscriberID)
					}
				}
			})
		}
		close(start)
		wg.Wait()
		seen := map[int64]int{}
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("worker %d: %v", w, errs[w])
			}
			if !slices.IsSorted(claimed[w]) {
				t.Errorf("worker %d claimed out of ID order: %v", w, claimed[w])
			}
			for _, id := range claimed[w] {
				seen[id]++
			}
		}
		for id := int64(1); id <= total; id++ {
			if seen[id] != 1 {
				t.Errorf("delivery %d claimed %d times, want once", id, seen[id])
			}
		}
		if len(seen) != total {
			t.Errorf("%d distinct deliveries claimed, want %d", len(seen), total)
		}
		// Every claim holds until its lease ends, then all come back.
		if ds, err := s.ClaimDeliveries(t.Context(), week, "late", total, now.Add(time.Hour-1), time.Hour); err != nil || len(ds) != 0 {
			t.Errorf("claim before the leases end = %d deliveries, %v; want none", len(ds), err)
		}
		ds, err := s.ClaimDeliveries(t.Context(), week, "late", total+1, now.Add(time.Hour), time.Hour)
		if err != nil || len(ds) != total {
			t.Errorf("claim when the leases end = %d deliveries, %v; want %d", len(ds), err, total)
		}
	})
}

// A plan longer than one script's chunk adds each new ID once.
func TestPlanDeliveriesChunks(t *testing.T) {
	s := openNewsletter(t, false)
	const week = "2026-W48"
	saveAndPlan(t, s, week, 10)
	ids := make([]int64, 2*planChunk+345)
	for i := range ids {
		ids[i] = int64(i%(planChunk+500)) + 1 // repeats across chunks
	}
	added, err := s.PlanDeliveries(t.Context(), week, ids)
	if want := planChunk + 500 - 10; err != nil || added != want {
		t.Errorf("PlanDeliveries = %d, %v; want %d", added, err, want)
	}
	if c, err := s.CountDeliveries(t.Context(), week); err != nil || c.Pending != planChunk+500 {
		t.Errorf("CountDeliveries = %+v, %v; want %d pending", c, err, planChunk+500)
	}
}

// Owners and errors holding the record's separator survive the scripts that
// rewrite a record.
func TestDeliveryRecordSeparators(t *testing.T) {
	onBoth(t, func(t *testing.T, s *Store) {
		const week = "2026-W48"
		saveAndPlan(t, s, week, 1)
		now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
		retry := newsletter.Delivery{Week: week, SubscriberID: 1, State: newsletter.DeliveryPending,
			Attempts: 12, LastError: "451 |4|| try | later|", NotBefore: now.Add(time.Nanosecond)}
		if err := s.FinishDeliveries(t.Context(), []newsletter.Delivery{retry}); err != nil {
			t.Fatal(err)
		}
		if ds, err := s.ClaimDeliveries(t.Context(), week, "o", 5, now, time.Minute); err != nil || len(ds) != 0 {
			t.Fatalf("claim a nanosecond early = %v, %v; want none", ds, err)
		}
		owner := "host|1|"
		ds, err := s.ClaimDeliveries(t.Context(), week, owner, 5, retry.NotBefore, time.Minute)
		if err != nil || len(ds) != 1 {
			t.Fatalf("claim = %v, %v; want one", ds, err)
		}
		want := retry
		want.Owner, want.NotBefore = owner, retry.NotBefore.Add(time.Minute)
		stored, err := s.Delivery(t.Context(), week, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []newsletter.Delivery{ds[0], stored} {
			if got != want {
				t.Errorf("delivery = %+v\nwant       %+v", got, want)
			}
		}
	})
}

// An erasure cut short after its first step is finished by repeating
// DeleteSubscriber, or by any DeletePending.
func TestErasureResumes(t *testing.T) {
	onBoth(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		const week = "2026-W48"
		if _, _, err := s.SaveIssue(ctx, newsletter.Issue{Week: week}); err != nil {
			t.Fatal(err)
		}
		var subs []newsletter.Subscriber
		for i := range 3 {
			sub, _, err := s.AddSubscriber(ctx, newsletter.Subscriber{
				Index: fmt.Sprint("index-", i), Sealed: []byte{1}, Status: newsletter.Confirmed})
			if err != nil {
				t.Fatal(err)
			}
			subs = append(subs, sub)
		}
		if _, err := s.PlanDeliveries(ctx, week, []int64{subs[0].ID, subs[1].ID, subs[2].ID}); err != nil {
			t.Fatal(err)
		}
		for _, sub := range subs[:2] {
			if n, err := s.eraseSubscriber(ctx, sub.ID, ""); err != nil || n != 1 {
				t.Fatalf("first step of erasing %d = %d, %v", sub.ID, n, err)
			}
			if _, err := s.Subscriber(ctx, sub.ID); !errors.Is(err, newsletter.ErrNotFound) {
				t.Errorf("subscriber %d after the first step: err = %v, want ErrNotFound", sub.ID, err)
			}
			if _, err := s.Delivery(ctx, week, sub.ID); err != nil {
				t.Fatalf("the first step removed a delivery: %v", err)
			}
		}
		if err := s.DeleteSubscriber(ctx, subs[0].ID); err != nil {
			t.Fatalf("repeated DeleteSubscriber: %v", err)
		}
		if n, err := s.DeletePending(ctx, time.Now()); err != nil || n != 0 {
			t.Fatalf("DeletePending = %d, %v; want 0 (it only finishes the other)", n, err)
		}
		for _, sub := range subs[:2] {
			if _, err := s.Delivery(ctx, week, sub.ID); !errors.Is(err, newsletter.ErrNotFound) {
				t.Errorf("delivery to erased %d: err = %v, want ErrNotFound", sub.ID, err)
			}
		}
		if _, err := s.Delivery(ctx, week, subs[2].ID); err != nil {
			t.Errorf("the delivery to the kept subscriber: %v", err)
		}
		if c, err := s.CountDeliveries(ctx, week); err != nil || c != (newsletter.DeliveryCounts{Pending: 1}) {
			t.Errorf("CountDeliveries = %+v, %v; want one pending", c, err)
		}
		if left, err := s.c.ZCard(ctx, s.k.subErasing()).Result(); err != nil || left != 0 {
			t.Errorf("erasing holds %d IDs, %v; want none", left, err)
		}
		if err := s.DeleteSubscriber(ctx, subs[0].ID); !errors.Is(err, newsletter.ErrNotFound) {
			t.Errorf("DeleteSubscriber after the erasure finished: err = %v, want ErrNotFound", err)
		}
	})
}

// The pending index holds a subscriber exactly while it is pending, under
// the member DeletePending and the scripts compute alike.
func TestPendingIndexFollowsStatus(t *testing.T) {
	s := openNewsletter(t, false)
	ctx := t.Context()
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	sub, _, err := s.AddSubscriber(ctx, newsletter.Subscriber{Index: "i", Status: newsletter.Pending, CreatedAt: created})
	if err != nil {
		t.Fatal(err)
	}
	pendingIs := func(what string, want ...string) {
		t.Helper()
		got, err := s.c.ZRange(ctx, s.k.subPending(), 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) && len(got)+len(want) > 0 {
			t.Errorf("%s: pending index = %q, want %q", what, got, want)
		}
	}
	m := member(created, sub.ID)
	pendingIs("after adding", m)
	for _, c := range []struct {
		status newsletter.Status
		want   []string
	}{
		{newsletter.Confirmed, nil},
		{newsletter.Unsubscribed, nil},
		{newsletter.Pending, []string{m}},
		{newsletter.Pending, []string{m}},
	} {
		sub.Status = c.status
		if err := s.UpdateSubscriber(ctx, sub); err != nil {
			t.Fatal(err)
		}
		pendingIs("after the status became "+string(c.status), c.want...)
	}
	if err := s.DeleteSubscriber(ctx, sub.ID); err != nil {
		t.Fatal(err)
	}
	pendingIs("after DeleteSubscriber")
}

// A resent add script (its reply lost) reports the subscribers it stored
// the first time as created, under the IDs chosen for them, and stores
// nothing twice; a subscriber without a chosen ID gets one from the script.
func TestAddScriptResent(t *testing.T) {
	onBoth(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
		subs := []newsletter.Subscriber{
			{ID: 41, Index: "a", Status: newsletter.Pending, CreatedAt: created, Sealed: []byte{0, 1}},
			{ID: 42, Index: "b", Status: newsletter.Confirmed, CreatedAt: created},
			{ID: 0, Index: "c", Status: newsletter.Confirmed, CreatedAt: created},
		}
		for try := range 2 {
			res, err := s.runAddScript(ctx, subs)
			if err != nil {
				t.Fatal(err)
			}
			got := fmt.Sprint(res)
			want := "[[1 41] [1 42] [1 1]]"
			if try == 1 { // c's ID was taken inside the script: it cannot tell
				want = "[[1 41] [1 42] [0 1 [index c created_at"
			}
			if !strings.HasPrefix(got, want) {
				t.Errorf("try %d: script = %s, want %s…", try, got, want)
			}
		}
		c, err := s.CountSubscribers(ctx)
		if err != nil || c[newsletter.Pending] != 1 || c[newsletter.Confirmed] != 2 {
			t.Errorf("CountSubscribers = %v, %v; want 1 pending, 2 confirmed", c, err)
		}
		if n, err := s.c.ZCard(ctx, s.k.subPending()).Result(); err != nil || n != 1 {
			t.Errorf("pending index holds %d, %v; want 1", n, err)
		}
		got, err := s.SubscriberByIndex(ctx, "a")
		if err != nil || got.ID != 41 || !got.CreatedAt.Equal(created) || string(got.Sealed) != "\x00\x01" {
			t.Errorf("SubscriberByIndex(a) = %+v, %v", got, err)
		}
	})
}

// A week holding braces still keeps its four delivery keys in one slot.
func TestDeliveriesOddWeek(t *testing.T) {
	onBoth(t, func(t *testing.T, s *Store) {
		for _, week := range []string{"x}{y", "{", "}", "a{b}c"} {
			saveAndPlan(t, s, week, 3)
			ds, err := s.ClaimDeliveries(t.Context(), week, "o", 2, time.Now(), time.Minute)
			if err != nil || len(ds) != 2 {
				t.Errorf("week %q: claim = %d, %v; want 2", week, len(ds), err)
			}
		}
	})
}

// The Go reader takes back what the Go writer packs, and refuses damaged
// records without panicking.
func FuzzDeliveryRecord(f *testing.F) {
	f.Add("pending", 0, "", "", int64(0))
	f.Add("sent", 3, "host|1", "550 | no", int64(1_700_000_000_123_456_789))
	f.Fuzz(func(t *testing.T, state string, attempts int, owner, lastErr string, nanos int64) {
		d := newsletter.Delivery{Week: "w", SubscriberID: 7, State: newsletter.DeliveryState(state),
			Attempts: attempts, Owner: owner, LastError: lastErr, NotBefore: time.Unix(0, nanos).UTC()}
		rec := packDelivery(d)
		got, err := unpackDelivery("w", 7, rec)
		roundTrips := d.State.Valid() && attempts >= 0
		if roundTrips && (err != nil || got != d) {
			t.Errorf("unpack(pack(%+v)) = %+v, %v", d, got, err)
		}
		_, _ = unpackDelivery("w", 7, state+"|"+owner+lastErr) // must not panic
	})
}
