package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// Claims (feeds.Store.ClaimDue): how several pollers sharing a store poll
// each due source once.

func byID(a, b feeds.Source) int { return cmp.Compare(a.ID, b.ID) }

// addDue adds a source whose next poll is next.
func addDue(t *testing.T, s feeds.Store, url string, next time.Time, paused bool) feeds.Source {
	t.Helper()
	src := mustAddSource(t, s, feeds.Source{URL: url})
	src.NextPollAt, src.Paused = next, paused
	src.LastPolledAt = base.Add(-2 * time.Hour)
	src.Title, src.ETag, src.ErrorCount = "T "+url, `"e1"`, 1
	if err := s.UpdateSource(t.Context(), src); err != nil {
		t.Fatal(err)
	}
	return src
}

func testClaimDue(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	const lease = 10 * time.Minute
	never := addDue(t, s, "https://never-polled.example/", time.Time{}, false)
	past := addDue(t, s, "https://past.example/", base.Add(-time.Hour), false)
	future := addDue(t, s, "https://future.example/", base.Add(time.Nanosecond), false)
	paused := addDue(t, s, "https://paused.example/", base.Add(-time.Hour), true)
	exact := addDue(t, s, "https://exact.example/", base, false)
	later := addDue(t, s, "https://later.example/", base.Add(time.Hour), false)

	got, err := s.ClaimDue(ctx, base.In(elsewhere), lease, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, byID)
	checkSourceIDs(t, "ClaimDue(now)", got, never, past, exact)
	// Returned as they were before the claim.
	for i, want := range []feeds.Source{never, past, exact} {
		if i < len(got) {
			if d := diffSource(got[i], want); d != "" {
				t.Errorf("claimed source %d: %s", want.ID, d)
			}
		}
	}
	// Stored with the next poll at the lease's end; the rest untouched.
	for _, want := range []feeds.Source{never, past, exact} {
		cur, err := s.Source(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		want.NextPollAt = base.Add(lease)
		if d := diffSource(cur, want); d != "" {
			t.Errorf("source %d after its claim: %s", want.ID, d)
		}
	}
	for _, want := range []feeds.Source{future, paused, later} {
		cur, err := s.Source(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := diffSource(cur, want); d != "" {
			t.Errorf("unclaimed source %d changed: %s", want.ID, d)
		}
	}
	if due, err := s.Sources(ctx, feeds.SourceFilter{DueBy: base}); err != nil || len(due) != 0 {
		t.Errorf("Sources(DueBy: now) after the claim: %d sources, %v; want none", len(due), err)
	}

	// Nothing is claimed twice while the lease runs.
	if again, err := s.ClaimDue(ctx, base.Add(lease-time.Nanosecond), lease, 0); err != nil || len(again) != 1 || again[0].ID != future.ID {
		t.Errorf("ClaimDue during the lease: %v, %v; want only source %d", again, err, future.ID)
	}

	// A recorded poll result replaces the claim; an unrecorded claim runs out.
	polled := past
	polled.NextPollAt, polled.LastPolledAt, polled.ErrorCount = base.Add(2*time.Hour), base, 0
	if err := s.UpdateSource(ctx, polled); err != nil {
		t.Fatal(err)
	}
	after, err := s.ClaimDue(ctx, base.Add(lease), lease, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(after, byID)
	checkSourceIDs(t, "ClaimDue at the lease's end", after, never, exact)
	for _, src := range after {
		if !src.NextPollAt.Equal(base.Add(lease)) {
			t.Errorf("source %d reclaimed with NextPollAt %v, want the first lease's end %v", src.ID, src.NextPollAt, base.Add(lease))
		}
	}

	// A resumed source can be claimed; a removed one never is.
	paused.Paused = false
	if err := s.UpdateSource(ctx, paused); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSource(ctx, later.ID); err != nil {
		t.Fatal(err)
	}
	end, err := s.ClaimDue(ctx, base.Add(3*time.Hour), lease, 0)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(end, byID)
	checkSourceIDs(t, "ClaimDue hours later", end, never, past, future, paused, exact)
}

func testClaimDueLimit(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	// Added in an order unlike their due order, so that IDs do not give it.
	hours := []int{3, 5, 1, 4, 2}
	bySince := map[int]feeds.Source{}
	for _, h := range hours {
		bySince[h] = addDue(t, s, fmt.Sprintf("https://h%d.example/", h), base.Add(-time.Duration(h)*time.Hour), false)
	}
	for _, want := range [][]int{{5, 4}, {3, 2}, {1}, {}} {
		got, err := s.ClaimDue(ctx, base, time.Hour, 2)
		if err != nil {
			t.Fatal(err)
		}
		var ws []feeds.Source
		for _, h := range want {
			ws = append(ws, bySince[h])
		}
		slices.SortFunc(got, byID)
		slices.SortFunc(ws, byID)
		checkSourceIDs(t, fmt.Sprintf("ClaimDue(limit 2), want the sources due %v hours ago", want), got, ws...)
	}
}

// testClaimDueRace has several pollers claim small batches at once until
// none is left: every due source is claimed, and by one poller only.
func testClaimDueRace(t *testing.T, s feeds.Store) {
	const n, pollers = 40, 4
	want := map[int64]bool{}
	for i := range n {
		want[addDue(t, s, fmt.Sprintf("https://race%d.example/", i), base.Add(-time.Minute), false).ID] = true
	}
	var (
		mu  sync.Mutex
		got = map[int64]int{}
		wg  sync.WaitGroup
	)
	for range pollers {
		wg.Go(func() {
			for {
				batch, err := s.ClaimDue(t.Context(), base, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(batch) == 0 {
					return
				}
				mu.Lock()
				for _, src := range batch {
					got[src.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id := range want {
		switch got[id] {
		case 1:
		case 0:
			t.Errorf("source %d was never claimed", id)
		default:
			t.Errorf("source %d was claimed %d times", id, got[id])
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d sources claimed, want %d", len(got), len(want))
	}
}
