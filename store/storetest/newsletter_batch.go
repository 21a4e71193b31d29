package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// mustAddSubscribers adds subs in one call and requires one result each, in
// order (each result has its element's Index).
func mustAddSubscribers(t *testing.T, s newsletter.Store, subs []newsletter.Subscriber) []newsletter.AddedSubscriber {
	t.Helper()
	res, err := s.AddSubscribers(t.Context(), subs)
	if err != nil {
		t.Fatalf("AddSubscribers(%d subscribers): %v", len(subs), err)
	}
	if len(res) != len(subs) {
		t.Fatalf("AddSubscribers(%d subscribers) returned %d results", len(subs), len(res))
	}
	for i, r := range res {
		if r.Subscriber.Index != subs[i].Index {
			t.Fatalf("AddSubscribers: result %d has Index %q, want %q (results out of order?)", i, r.Subscriber.Index, subs[i].Index)
		}
		if r.Subscriber.ID <= 0 {
			t.Fatalf("AddSubscribers: result %d has ID %d", i, r.Subscriber.ID)
		}
	}
	return res
}

// createdAre requires the Created flags of res to be want.
func createdAre(t *testing.T, res []newsletter.AddedSubscriber, want ...bool) {
	t.Helper()
	got := make([]bool, len(res))
	for i, r := range res {
		got[i] = r.Created
	}
	if !slices.Equal(got, want) {
		t.Errorf("AddSubscribers: Created = %v, want %v", got, want)
	}
}

// testAddSubscribers: a batch stores every new subscriber exactly as given
// (a zero CreatedAt stamped), returns the stored one for a known Index, and
// leaves that one unchanged.
func testAddSubscribers(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	known := mustAddSubscriber(t, s, newSubscriber(100))
	in := []newsletter.Subscriber{newSubscriber(1), newSubscriber(2), newSubscriber(100), newSubscriber(3)}
	in[1].Status, in[1].CreatedAt = newsletter.Pending, time.Time{}
	in[2].Status, in[2].Sealed = newsletter.Pending, []byte("another address")
	in[3].Status, in[3].UnsubscribedAt = newsletter.Unsubscribed, base.Add(time.Hour).In(elsewhere)
	in[3].ConsentAt, in[3].ConsentPage, in[3].ConsentIP = base.Add(7), "https://tidings.example/?ä=1", "ip:abc"
	in[3].CreatedAt, in[3].HardFailures = base.Add(-time.Hour).In(elsewhere), 2
	before := time.Now()
	res := mustAddSubscribers(t, s, in)
	after := time.Now()
	createdAre(t, res, true, true, false, true)
	if d := diffSubscriber(res[2].Subscriber, known); d != "" {
		t.Errorf("the result for a known Index is not the stored subscriber: %s", d)
	}
	if c := res[1].Subscriber.CreatedAt; c.Before(before.Add(-time.Second)) || c.After(after.Add(time.Second)) {
		t.Errorf("a zero CreatedAt became %v, want about %v", c, before)
	}
	ids := map[int64]bool{known.ID: true}
	for _, i := range []int{0, 1, 3} {
		got := res[i].Subscriber
		if ids[got.ID] {
			t.Errorf("result %d reuses ID %d", i, got.ID)
		}
		ids[got.ID] = true
		want := in[i]
		want.ID = got.ID
		if i == 1 {
			want.CreatedAt = got.CreatedAt
		}
		if d := diffSubscriber(got, want); d != "" {
			t.Errorf("AddSubscribers returned for %d: %s", i, d)
		}
		checkSubscriber(t, s, fmt.Sprintf("subscriber %d of the batch", i), want)
	}
	checkSubscriber(t, s, "the known subscriber", known)
	checkCounts(t, s, "after the batch", map[newsletter.Status]int{
		newsletter.Pending: 1, newsletter.Confirmed: 2, newsletter.Unsubscribed: 1,
	})
	// The pending one is found by DeletePending like one added alone.
	if n, err := s.DeletePending(ctx, after.Add(time.Second)); err != nil || n != 1 {
		t.Errorf("DeletePending = %d, %v; want 1", n, err)
	}
	if res, err := s.AddSubscribers(ctx, nil); err != nil || len(res) != 0 {
		t.Errorf("AddSubscribers(nil) = %v, %v; want nothing", res, err)
	}
}

// testAddSubscribersDuplicates: an Index repeated within one batch creates
// one subscriber; each later element gets the first one's subscriber.
func testAddSubscribersDuplicates(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	a, b, c := newSubscriber(1), newSubscriber(2), newSubscriber(3)
	a2, b2, a3 := newSubscriber(4), newSubscriber(5), newSubscriber(6)
	a2.Index, a3.Index, b2.Index = a.Index, a.Index, b.Index
	a2.Status, b2.Status = newsletter.Pending, newsletter.Unsubscribed
	res := mustAddSubscribers(t, s, []newsletter.Subscriber{a, b, a2, c, b2, a3})
	createdAre(t, res, true, true, false, true, false, false)
	for _, dup := range []struct{ later, first int }{{2, 0}, {4, 1}, {5, 0}} {
		if d := diffSubscriber(res[dup.later].Subscriber, res[dup.first].Subscriber); d != "" {
			t.Errorf("result %d is not the subscriber of result %d: %s", dup.later, dup.first, d)
		}
	}
	checkSubscriber(t, s, "the first of three with one Index", res[0].Subscriber)
	if all, err := s.Subscribers(ctx, newsletter.SubscriberFilter{}); err != nil || len(all) != 3 {
		t.Errorf("Subscribers = %v, %v; want three", subscriberIDs(all), err)
	}
}

// testAddSubscribersChunks: a batch larger than any store's chunk, holding
// known indexes and repeats far apart, stores each new Index once.
func testAddSubscribersChunks(t *testing.T, s newsletter.Store) {
	const n = 1234
	var pre []newsletter.Subscriber
	for i := 0; i < 1200; i += 4 {
		pre = append(pre, newSubscriber(i))
	}
	preRes := mustAddSubscribers(t, s, pre)
	in := make([]newsletter.Subscriber, n)
	for i := range in {
		in[i] = newSubscriber(i)
	}
	in[1233].Index = in[10].Index // a repeat in another chunk
	in[777].Index = in[778].Index // a repeat just before its first
	res := mustAddSubscribers(t, s, in)
	byIndex := map[string]int64{}
	for _, r := range preRes {
		byIndex[r.Subscriber.Index] = r.Subscriber.ID
	}
	created := 0
	for i, r := range res {
		wantCreated := i%4 != 0 && i != 1233 && i != 778
		if i >= 1200 {
			wantCreated = i != 1233
		}
		if r.Created != wantCreated {
			t.Errorf("element %d: Created = %v, want %v", i, r.Created, wantCreated)
		}
		if r.Created {
			created++
			if _, dup := byIndex[r.Subscriber.Index]; dup {
				t.Errorf("element %d created a second subscriber of its Index", i)
			}
			byIndex[r.Subscriber.Index] = r.Subscriber.ID
		} else if id := byIndex[r.Subscriber.Index]; id != r.Subscriber.ID {
			t.Errorf("element %d: ID %d, want the holder of its Index, %d", i, r.Subscriber.ID, id)
		}
	}
	if want := n - len(pre) - 2; created != want {
		t.Errorf("%d created, want %d", created, want)
	}
	checkCounts(t, s, "after a large batch", map[newsletter.Status]int{newsletter.Confirmed: len(byIndex)})
	ids := make([]int64, 0, len(byIndex))
	for _, id := range byIndex {
		ids = append(ids, id)
	}
	got, err := s.SubscribersByID(t.Context(), ids)
	if err != nil || len(got) != len(ids) {
		t.Errorf("SubscribersByID(%d IDs) = %d subscribers, %v", len(ids), len(got), err)
	}
	for index, id := range byIndex {
		if got[id].Index != index {
			t.Errorf("subscriber %d has Index %q, want %q", id, got[id].Index, index)
			break
		}
	}
}

// testAddSubscribersRace: four importers add overlapping ranges of indexes,
// in batches and in opposite orders, at once. Each Index is created exactly
// once, and everyone gets the same subscriber for it.
func testAddSubscribersRace(t *testing.T, s newsletter.Store) {
	const workers, span, step, batch = 4, 200, 100, 25
	type seen struct {
		id      int64
		created bool
	}
	results := make([]map[string]seen, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		results[w] = map[string]seen{}
		wg.Go(func() {
			var in []newsletter.Subscriber
			for i := range span {
				in = append(in, newSubscriber(w*step+i))
			}
			if w%2 == 1 {
				slices.Reverse(in)
			}
			<-start
			for chunk := range slices.Chunk(in, batch) {
				res, err := s.AddSubscribers(t.Context(), chunk)
				if err != nil {
					t.Errorf("importer %d: %v", w, err)
					return
				}
				for _, r := range res {
					results[w][r.Subscriber.Index] = seen{r.Subscriber.ID, r.Created}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	distinct := (workers-1)*step + span
	creators := map[string]int{}
	ids := map[string]int64{}
	for w := range workers {
		for index, r := range results[w] {
			if r.created {
				creators[index]++
			}
			if id, ok := ids[index]; ok && id != r.id {
				t.Errorf("Index %s came back with IDs %d and %d", index, id, r.id)
			}
			ids[index] = r.id
		}
	}
	if len(ids) != distinct {
		t.Errorf("%d indexes seen, want %d", len(ids), distinct)
	}
	for index := range ids {
		if creators[index] != 1 {
			t.Errorf("Index %s created %d times, want once", index, creators[index])
		}
	}
	checkCounts(t, s, "after the race", map[newsletter.Status]int{newsletter.Confirmed: distinct})
}

// testAddSubscribersBadInput: one bad element refuses the whole batch, before
// anything is stored.
func testAddSubscribersBadInput(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	noIndex, badStatus := newSubscriber(2), newSubscriber(4)
	noIndex.Index, badStatus.Status = "", "maybe"
	for name, batch := range map[string][]newsletter.Subscriber{
		"an empty Index":     {newSubscriber(1), noIndex, newSubscriber(3)},
		"a Status \"maybe\"": {newSubscriber(1), newSubscriber(3), badStatus},
	} {
		if _, err := s.AddSubscribers(ctx, batch); err == nil {
			t.Errorf("AddSubscribers with %s succeeded", name)
		}
	}
	if all, err := s.Subscribers(ctx, newsletter.SubscriberFilter{}); err != nil || len(all) != 0 {
		t.Errorf("after refused batches, Subscribers = %v, %v; want none", subscriberIDs(all), err)
	}
}

// testSubscribersByID: present IDs come back as stored, absent and erased
// ones are missing, a repeated ID is fine.
func testSubscribersByID(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	subs := addSubscribers(t, s, 0, 5)
	if err := s.DeleteSubscriber(ctx, subs[1].ID); err != nil {
		t.Fatal(err)
	}
	got, err := s.SubscribersByID(ctx, []int64{subs[3].ID, 9999, subs[0].ID, subs[0].ID, subs[1].ID, subs[4].ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("SubscribersByID returned %d subscribers, want 3", len(got))
	}
	for _, want := range []newsletter.Subscriber{subs[0], subs[3], subs[4]} {
		if d := diffSubscriber(got[want.ID], want); d != "" {
			t.Errorf("SubscribersByID[%d]: %s", want.ID, d)
		}
	}
	for _, id := range []int64{9999, subs[1].ID, subs[2].ID} {
		if _, ok := got[id]; ok {
			t.Errorf("SubscribersByID holds %d, which was absent, erased or not asked for", id)
		}
	}
	for _, ids := range [][]int64{nil, {}, {424242}} {
		if got, err := s.SubscribersByID(ctx, ids); err != nil || len(got) != 0 {
			t.Errorf("SubscribersByID(%v) = %v, %v; want nothing", ids, got, err)
		}
	}
}
