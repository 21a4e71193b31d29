package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

func testAddSubscriber(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	in := newSubscriber(1)
	in.Status = newsletter.Pending
	in.CreatedAt = time.Time{} // the store stamps it
	before := time.Now()
	a := mustAddSubscriber(t, s, in)
	after := time.Now()
	if a.CreatedAt.Before(before.Add(-time.Second)) || a.CreatedAt.After(after.Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about %v", a.CreatedAt, before)
	}
	want := in
	want.ID, want.CreatedAt = a.ID, a.CreatedAt
	if d := diffSubscriber(a, want); d != "" {
		t.Errorf("AddSubscriber returned: %s", d)
	}
	got, err := s.Subscriber(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSubscriber(got, want); d != "" {
		t.Errorf("Subscriber: %s", d)
	}
	got, err = s.SubscriberByIndex(ctx, in.Index)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSubscriber(got, want); d != "" {
		t.Errorf("SubscriberByIndex: %s", d)
	}
	b := mustAddSubscriber(t, s, newSubscriber(2))
	if b.ID == a.ID {
		t.Fatalf("two subscribers share ID %d", a.ID)
	}
}

// A second subscriber with a taken Index is not stored; the stored one comes
// back unchanged.
func testAddSubscriberDuplicate(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	a := mustAddSubscriber(t, s, newSubscriber(1))
	dup := newSubscriber(2)
	dup.Index = a.Index
	dup.Status = newsletter.Pending
	got, created, err := s.AddSubscriber(ctx, dup)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("a second AddSubscriber with the same Index created a subscriber")
	}
	if d := diffSubscriber(got, a); d != "" {
		t.Errorf("a refused AddSubscriber must return the stored subscriber: %s", d)
	}
	if stored, err := s.Subscriber(ctx, a.ID); err != nil || diffSubscriber(stored, a) != "" {
		t.Errorf("after a refused AddSubscriber, stored = %+v, %v; want it unchanged", stored, err)
	}
	all, err := s.Subscribers(ctx, newsletter.SubscriberFilter{})
	if err != nil || len(all) != 1 {
		t.Errorf("Subscribers = %v, %v; want one", subscriberIDs(all), err)
	}
}

// Sixteen concurrent sign-ups of one address create one subscriber, and all
// of them get it back.
func testAddSubscriberRace(t *testing.T, s newsletter.Store) {
	const racers = 16
	type result struct {
		sub     newsletter.Subscriber
		created bool
		err     error
	}
	results := make([]result, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			sub := newSubscriber(i)
			sub.Index = "shared-index"
			<-start
			r := &results[i]
			r.sub, r.created, r.err = s.AddSubscriber(t.Context(), sub)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("racer %d: %v", i, r.err)
		}
		if r.created {
			if winner >= 0 {
				t.Fatalf("racers %d and %d both created a subscriber", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d racers created the subscriber", racers)
	}
	for i, r := range results {
		if d := diffSubscriber(r.sub, results[winner].sub); d != "" {
			t.Errorf("racer %d did not get the winner's subscriber: %s", i, d)
		}
	}
	all, err := s.Subscribers(t.Context(), newsletter.SubscriberFilter{})
	if err != nil || len(all) != 1 {
		t.Errorf("Subscribers = %v, %v; want one", subscriberIDs(all), err)
	}
}

func testAddSubscriberBadInput(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	noIndex := newSubscriber(1)
	noIndex.Index = ""
	badStatus := newSubscriber(2)
	badStatus.Status = "maybe"
	noStatus := newSubscriber(3)
	noStatus.Status = ""
	for name, sub := range map[string]newsletter.Subscriber{
		"empty Index": noIndex, "Status \"maybe\"": badStatus, "empty Status": noStatus,
	} {
		if _, _, err := s.AddSubscriber(ctx, sub); err == nil {
			t.Errorf("AddSubscriber with %s succeeded", name)
		}
	}
	if all, err := s.Subscribers(ctx, newsletter.SubscriberFilter{}); err != nil || len(all) != 0 {
		t.Errorf("after refused adds, Subscribers = %v, %v; want none", subscriberIDs(all), err)
	}
	a := mustAddSubscriber(t, s, newSubscriber(4))
	bad := a
	bad.Status = "gone"
	if err := s.UpdateSubscriber(ctx, bad); err == nil {
		t.Error("UpdateSubscriber with Status \"gone\" succeeded")
	}
	if got, err := s.Subscriber(ctx, a.ID); err != nil || got.Status != newsletter.Confirmed {
		t.Errorf("after a refused update, Status = %q, %v; want confirmed", got.Status, err)
	}
}

func testSubscriberNotFound(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	if _, err := s.Subscriber(ctx, 4242); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("Subscriber(missing): err = %v, want ErrNotFound", err)
	}
	if _, err := s.SubscriberByIndex(ctx, "no-such-index"); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("SubscriberByIndex(missing): err = %v, want ErrNotFound", err)
	}
	missing := newSubscriber(1)
	missing.ID = 4242
	if err := s.UpdateSubscriber(ctx, missing); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("UpdateSubscriber(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSubscriber(ctx, 4242); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("DeleteSubscriber(missing): err = %v, want ErrNotFound", err)
	}
	// An empty store lists and counts nothing, without error.
	if all, err := s.Subscribers(ctx, newsletter.SubscriberFilter{}); err != nil || len(all) != 0 {
		t.Errorf("Subscribers on an empty store = %v, %v; want none", subscriberIDs(all), err)
	}
	counts, err := s.CountSubscribers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for st, n := range counts {
		if n != 0 {
			t.Errorf("CountSubscribers on an empty store: %s = %d", st, n)
		}
	}
	if n, err := s.DeletePending(ctx, base); err != nil || n != 0 {
		t.Errorf("DeletePending on an empty store = %d, %v", n, err)
	}
	// The subscriber that is missing is not created by the failed update.
	if _, err := s.SubscriberByIndex(ctx, missing.Index); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("after UpdateSubscriber(missing), SubscriberByIndex: err = %v, want ErrNotFound", err)
	}
}

// Every field survives a write and a read exactly: times to the nanosecond
// and in UTC, the sealed bytes including zero bytes; and zero values come back
// as zero.
func testSubscriberRoundTrip(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	in := newsletter.Subscriber{
		Index:       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Sealed:      []byte{0, 0, 0x7f, 0x80, 0xff, 0, '\n', '"', 0},
		Status:      newsletter.Pending,
		CreatedAt:   base.Add(-3 * time.Hour).In(elsewhere),
		ConsentPage: "https://tidings.example/stories/42/ünïcode-slug?x=1&y=2",
		ConsentIP:   "ip:7b5e2f0c1a9d",
	}
	a := mustAddSubscriber(t, s, in)
	want := in
	want.ID = a.ID
	if d := diffSubscriber(a, want); d != "" {
		t.Errorf("AddSubscriber returned: %s", d)
	}

	full := newsletter.Subscriber{
		ID:             a.ID,
		Index:          in.Index,
		Sealed:         []byte{0xff, 0, 1, 0, 2, 0, 0},
		Status:         newsletter.Confirmed,
		CreatedAt:      in.CreatedAt,
		ConfirmedAt:    base.Add(1).In(elsewhere),
		UnsubscribedAt: base.Add(2),
		ConfirmMailAt:  base.Add(-time.Hour + 3).In(elsewhere),
		ConsentAt:      base.Add(4),
		ConsentPage:    "https://tidings.example/newsletter",
		ConsentIP:      "ip:0000ffff",
		HardFailures:   2,
	}
	if err := s.UpdateSubscriber(ctx, full); err != nil {
		t.Fatal(err)
	}
	checkSubscriber(t, s, "after setting every field", full)

	zero := newsletter.Subscriber{ID: a.ID, Index: in.Index, Sealed: []byte{0}, Status: newsletter.Bounced, CreatedAt: in.CreatedAt}
	if err := s.UpdateSubscriber(ctx, zero); err != nil {
		t.Fatal(err)
	}
	got := checkSubscriber(t, s, "after clearing every field", zero)
	if !got.ConfirmedAt.IsZero() || !got.ConsentAt.IsZero() || !got.ConfirmMailAt.IsZero() {
		t.Errorf("zero times came back as %v, %v, %v", got.ConfirmedAt, got.ConsentAt, got.ConfirmMailAt)
	}
}

// checkSubscriber reads want.ID by ID, by index and through Subscribers, and
// requires want each time.
func checkSubscriber(t *testing.T, s newsletter.Store, what string, want newsletter.Subscriber) newsletter.Subscriber {
	t.Helper()
	got, err := s.Subscriber(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("%s: Subscriber: %v", what, err)
	}
	if d := diffSubscriber(got, want); d != "" {
		t.Errorf("%s: Subscriber: %s", what, d)
	}
	byIndex, err := s.SubscriberByIndex(t.Context(), want.Index)
	if err != nil {
		t.Fatalf("%s: SubscriberByIndex: %v", what, err)
	}
	if d := diffSubscriber(byIndex, want); d != "" {
		t.Errorf("%s: SubscriberByIndex: %s", what, d)
	}
	list, err := s.Subscribers(t.Context(), newsletter.SubscriberFilter{AfterID: want.ID - 1, Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("%s: Subscribers = %v, %v; want one", what, subscriberIDs(list), err)
	}
	if d := diffSubscriber(list[0], want); d != "" {
		t.Errorf("%s: Subscribers: %s", what, d)
	}
	return got
}

// UpdateSubscriber ignores Index and CreatedAt: the address and the sign-up
// time of a subscriber never change.
func testUpdateSubscriberKeepsIndex(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	a := mustAddSubscriber(t, s, newSubscriber(1))
	b := mustAddSubscriber(t, s, newSubscriber(2))
	moved := a
	moved.Index = "a-new-index"
	moved.CreatedAt = base.Add(100 * time.Hour)
	moved.Status = newsletter.Unsubscribed
	moved.UnsubscribedAt = base.Add(time.Hour)
	if err := s.UpdateSubscriber(ctx, moved); err != nil {
		t.Fatal(err)
	}
	want := moved
	want.Index, want.CreatedAt = a.Index, a.CreatedAt
	checkSubscriber(t, s, "after updating Index and CreatedAt", want)
	if _, err := s.SubscriberByIndex(ctx, "a-new-index"); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("SubscriberByIndex(the Index an update tried to set): err = %v, want ErrNotFound", err)
	}
	// An update naming another subscriber's Index cannot take it over either.
	moved.Index = b.Index
	if err := s.UpdateSubscriber(ctx, moved); err != nil {
		t.Fatal(err)
	}
	checkSubscriber(t, s, "the other subscriber", b)
}
