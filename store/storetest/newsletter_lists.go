package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// testSubscribersPaging streams 250 subscribers in pages of 100 by AfterID;
// a few deleted ones leave gaps in the IDs.
func testSubscribersPaging(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	subs := addSubscribers(t, s, 0, 260)
	var want []int64
	for i, sub := range subs {
		if i%26 == 5 { // ten gaps
			if err := s.DeleteSubscriber(ctx, sub.ID); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want = append(want, sub.ID)
	}
	var got []int64
	var after int64
	pages := 0
	for {
		page, err := s.Subscribers(ctx, newsletter.SubscriberFilter{AfterID: after, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 100 {
			t.Fatalf("a page of Limit 100 has %d subscribers", len(page))
		}
		if len(page) == 0 {
			break
		}
		pages++
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		got = append(got, subscriberIDs(page)...)
		after = page[len(page)-1].ID
	}
	if pages != 3 {
		t.Errorf("250 subscribers came in %d pages of 100, want 3", pages)
	}
	if !slices.Equal(got, want) {
		t.Errorf("streamed %d IDs, want %d in ascending order:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	all, err := s.Subscribers(ctx, newsletter.SubscriberFilter{})
	if err != nil || !slices.Equal(subscriberIDs(all), want) {
		t.Errorf("Subscribers(no limit) = %d IDs, %v; want all %d", len(all), err, len(want))
	}
	rest, err := s.Subscribers(ctx, newsletter.SubscriberFilter{AfterID: want[len(want)-1]})
	if err != nil || len(rest) != 0 {
		t.Errorf("Subscribers(after the last ID) = %v, %v; want none", subscriberIDs(rest), err)
	}
	// AfterID need not be a stored ID.
	gap := subs[5].ID
	page, err := s.Subscribers(ctx, newsletter.SubscriberFilter{AfterID: gap, Limit: 2})
	if err != nil || !slices.Equal(subscriberIDs(page), []int64{subs[6].ID, subs[7].ID}) {
		t.Errorf("Subscribers(AfterID %d, deleted; Limit 2) = %v, %v; want [%d %d]",
			gap, subscriberIDs(page), err, subs[6].ID, subs[7].ID)
	}
}

func testSubscribersByStatus(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	statuses := []newsletter.Status{newsletter.Confirmed, newsletter.Pending, newsletter.Confirmed,
		newsletter.Unsubscribed, newsletter.Bounced, newsletter.Confirmed}
	byStatus := map[newsletter.Status][]int64{}
	var all []int64
	for i := range 60 {
		sub := newSubscriber(i)
		sub.Status = statuses[i%len(statuses)]
		added := mustAddSubscriber(t, s, sub)
		byStatus[sub.Status] = append(byStatus[sub.Status], added.ID)
		all = append(all, added.ID)
	}
	for _, st := range []newsletter.Status{newsletter.Pending, newsletter.Confirmed, newsletter.Unsubscribed, newsletter.Bounced} {
		want := byStatus[st]
		var got []int64
		var after int64
		for range len(want) + 2 {
			page, err := s.Subscribers(ctx, newsletter.SubscriberFilter{Status: st, AfterID: after, Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) == 0 {
				break
			}
			for _, sub := range page {
				if sub.Status != st {
					t.Errorf("Subscribers(Status %s) returned subscriber %d with Status %s", st, sub.ID, sub.Status)
				}
			}
			got = append(got, subscriberIDs(page)...)
			after = page[len(page)-1].ID
		}
		if !slices.Equal(got, want) {
			t.Errorf("Subscribers(Status %s) in pages of 7 = %v, want %v", st, got, want)
		}
	}
	// A status change moves the subscriber between the lists.
	moved, err := s.Subscriber(ctx, byStatus[newsletter.Pending][0])
	if err != nil {
		t.Fatal(err)
	}
	moved.Status, moved.ConfirmedAt = newsletter.Confirmed, base
	if err := s.UpdateSubscriber(ctx, moved); err != nil {
		t.Fatal(err)
	}
	confirmed, err := s.Subscribers(ctx, newsletter.SubscriberFilter{Status: newsletter.Confirmed})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(byStatus[newsletter.Confirmed]), moved.ID)
	slices.Sort(want)
	if !slices.Equal(subscriberIDs(confirmed), want) {
		t.Errorf("confirmed after confirming %d = %v, want %v", moved.ID, subscriberIDs(confirmed), want)
	}
	everyone, err := s.Subscribers(ctx, newsletter.SubscriberFilter{Limit: 1000})
	if err != nil || !slices.Equal(subscriberIDs(everyone), all) {
		t.Errorf("Subscribers(any status) = %v, %v; want %v", subscriberIDs(everyone), err, all)
	}
}

func testCountSubscribers(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	want := map[newsletter.Status]int{}
	var subs []newsletter.Subscriber
	for i, st := range []newsletter.Status{newsletter.Pending, newsletter.Pending, newsletter.Confirmed,
		newsletter.Confirmed, newsletter.Confirmed, newsletter.Unsubscribed, newsletter.Bounced} {
		sub := newSubscriber(i)
		sub.Status = st
		subs = append(subs, mustAddSubscriber(t, s, sub))
		want[st]++
	}
	checkCounts(t, s, "after adding", want)
	subs[0].Status = newsletter.Confirmed
	if err := s.UpdateSubscriber(ctx, subs[0]); err != nil {
		t.Fatal(err)
	}
	want[newsletter.Pending]--
	want[newsletter.Confirmed]++
	checkCounts(t, s, "after confirming one", want)
	if err := s.DeleteSubscriber(ctx, subs[6].ID); err != nil {
		t.Fatal(err)
	}
	want[newsletter.Bounced]--
	checkCounts(t, s, "after deleting the bounced one", want)
}

// checkCounts compares CountSubscribers with want; a missing status counts 0.
func checkCounts(t *testing.T, s newsletter.Store, what string, want map[newsletter.Status]int) {
	t.Helper()
	got, err := s.CountSubscribers(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []newsletter.Status{newsletter.Pending, newsletter.Confirmed, newsletter.Unsubscribed, newsletter.Bounced} {
		if got[st] != want[st] {
			t.Errorf("%s: CountSubscribers()[%s] = %d, want %d", what, st, got[st], want[st])
		}
	}
	for st := range got {
		if !st.Valid() {
			t.Errorf("%s: CountSubscribers has a key %q", what, st)
		}
	}
}

// DeletePending erases only pending subscribers created strictly before the
// given instant.
func testDeletePending(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	add := func(n int, st newsletter.Status, created time.Time) newsletter.Subscriber {
		sub := newSubscriber(n)
		sub.Status, sub.CreatedAt = st, created
		return mustAddSubscriber(t, s, sub)
	}
	old := add(1, newsletter.Pending, base.Add(-48*time.Hour))
	recent := add(2, newsletter.Pending, base.Add(-1).In(elsewhere))
	exact := add(3, newsletter.Pending, base.In(elsewhere))
	fresh := add(4, newsletter.Pending, base.Add(time.Hour))
	confirmed := add(5, newsletter.Confirmed, base.Add(-48*time.Hour))
	unsubscribed := add(6, newsletter.Unsubscribed, base.Add(-48*time.Hour))
	bounced := add(7, newsletter.Bounced, base.Add(-48*time.Hour))

	n, err := s.DeletePending(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("DeletePending = %d, want 2", n)
	}
	for _, gone := range []newsletter.Subscriber{old, recent} {
		if _, err := s.Subscriber(ctx, gone.ID); !errors.Is(err, newsletter.ErrNotFound) {
			t.Errorf("pending subscriber created at %v: err = %v, want ErrNotFound", gone.CreatedAt, err)
		}
		if _, err := s.SubscriberByIndex(ctx, gone.Index); !errors.Is(err, newsletter.ErrNotFound) {
			t.Errorf("pending subscriber created at %v, by index: err = %v, want ErrNotFound", gone.CreatedAt, err)
		}
	}
	for _, kept := range []newsletter.Subscriber{exact, fresh, confirmed, unsubscribed, bounced} {
		if _, err := s.Subscriber(ctx, kept.ID); err != nil {
			t.Errorf("%s subscriber created at %v was erased: %v", kept.Status, kept.CreatedAt, err)
		}
	}
	if n, err := s.DeletePending(ctx, base); err != nil || n != 0 {
		t.Errorf("DeletePending again = %d, %v; want 0", n, err)
	}
	// The erased address may sign up again.
	again := mustAddSubscriber(t, s, newSubscriber(1))
	if again.ID == old.ID {
		t.Errorf("a new subscriber reuses the erased one's ID %d", old.ID)
	}
	if n, err := s.DeletePending(ctx, base.Add(2*time.Hour)); err != nil || n != 2 {
		t.Errorf("DeletePending(later) = %d, %v; want 2, the two still pending", n, err)
	}
}
