package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

func testAddStoryRoundTrip(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	src := mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed"})
	other := mustAddStory(t, s, newStory(1, src.ID, base))
	in := feeds.Story{
		SourceID:    src.ID,
		GUID:        "src1:urn:uuid:6f1c0c8e-0000-4000-8000-000000000001",
		URL:         "https://a.example/2026/03/encrypted-messaging-bill?ref=feed",
		Title:       "Ünïcode «title» — with 中文 and emoji 🔒",
		Summary:     "Line one.\nLine two, with \"quotes\" and a | pipe and {braces}.",
		Content:     `<p>Sanitised <a href="https://a.example/" rel="nofollow">HTML</a></p>`,
		Author:      "Jo Doe",
		PublishedAt: base.In(elsewhere),
		FirstSeenAt: base.Add(90*time.Second + 1).In(elsewhere),
		Relevance:   0.1 + 0.2, // not exactly 0.3: the float must survive unrounded
		Tags:        []string{"encryption", "law", "messaging"},
		Visible:     true,
		ClusterID:   other.ID,
		Similar:     []feeds.Related{{ID: other.ID, Score: 0.7 + 0.1}, {ID: 99, Score: 1.0 / 3}},
	}
	got, created, err := s.AddStory(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("created = false for a new story")
	}
	if got.ID <= 0 || got.ID == other.ID {
		t.Fatalf("ID = %d, want a new positive ID", got.ID)
	}
	want := in
	want.ID = got.ID
	if d := diffStory(got, want); d != "" {
		t.Errorf("AddStory returned: %s", d)
	}
	read, err := s.Story(ctx, got.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffStory(read, want); d != "" {
		t.Errorf("Story: %s", d)
	}
	list, err := s.Stories(ctx, feeds.StoryFilter{IDs: []int64{got.ID}})
	if err != nil || len(list) != 1 {
		t.Fatalf("Stories(IDs) = %v, %v", ids(list), err)
	}
	if d := diffStory(list[0], want); d != "" {
		t.Errorf("Stories: %s", d)
	}
	list, err = s.Stories(ctx, feeds.StoryFilter{ClusterID: other.ID})
	if err != nil || len(list) != 1 {
		t.Fatalf("Stories(ClusterID) = %v, %v", ids(list), err)
	}
	if d := diffStory(list[0], want); d != "" {
		t.Errorf("Stories: %s", d)
	}
}

// dedupeCase adds first, then second, and expects second to be refused as a
// copy of first.
func checkDuplicate(t *testing.T, s feeds.Store, first feeds.Story, second feeds.Story) {
	t.Helper()
	got, created, err := s.AddStory(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatalf("AddStory(url %q, guid %q) created a story; it shares a key with story %d",
			second.URL, second.GUID, first.ID)
	}
	if d := diffStory(got, first); d != "" {
		t.Errorf("a refused AddStory must return the stored story: %s", d)
	}
}

func testDedupeByURL(t *testing.T, s feeds.Store) {
	first := mustAddStory(t, s, newStory(1, 1, base))
	dup := newStory(2, 2, base.Add(time.Hour)) // another source, another GUID…
	dup.URL = first.URL                        // …the same article
	checkDuplicate(t, s, first, dup)
	dup.GUID = ""
	checkDuplicate(t, s, first, dup)
	countIs(t, s, feeds.StoryFilter{}, 1)
	// Neither refused call claimed its GUID.
	mustAddStory(t, s, newStory(2, 2, base))
}

func testDedupeByGUID(t *testing.T, s feeds.Store) {
	first := mustAddStory(t, s, newStory(1, 1, base))
	dup := newStory(2, 1, base.Add(time.Hour))
	dup.GUID = first.GUID // the feed changed the item's link
	checkDuplicate(t, s, first, dup)
	dup.URL = ""
	checkDuplicate(t, s, first, dup)
	countIs(t, s, feeds.StoryFilter{}, 1)
	// The refused call did not claim its URL.
	mustAddStory(t, s, newStory(2, 1, base))
}

// A story with neither URL nor GUID has no keys and is always new.
func testDedupeWithoutKeys(t *testing.T, s feeds.Store) {
	st := newStory(1, 1, base)
	st.URL, st.GUID = "", ""
	a := mustAddStory(t, s, st)
	b := mustAddStory(t, s, st)
	if a.ID == b.ID {
		t.Errorf("two keyless stories share ID %d", a.ID)
	}
}

// testAddStoryRace runs concurrent AddStory calls that share one key (first
// the URL, then the GUID); exactly one may create a story, all must get that
// story back, and the losers' other keys must stay free.
func testAddStoryRace(t *testing.T, s feeds.Store) {
	const racers = 20
	rounds := []struct {
		shared   string
		sourceID int64
		racer    func(i int) feeds.Story // all share one key
		later    func(i int) feeds.Story // shares only racer i's other key
	}{
		{"url", 1,
			func(i int) feeds.Story {
				return feeds.Story{SourceID: 1, URL: "https://race.example/shared", GUID: fmt.Sprintf("race:%d", i)}
			},
			func(i int) feeds.Story {
				return feeds.Story{SourceID: 1, URL: fmt.Sprintf("https://later.example/%d", i), GUID: fmt.Sprintf("race:%d", i)}
			}},
		{"guid", 2,
			func(i int) feeds.Story {
				return feeds.Story{SourceID: 2, URL: fmt.Sprintf("https://race.example/%d", i), GUID: "race:shared"}
			},
			func(i int) feeds.Story {
				return feeds.Story{SourceID: 2, URL: fmt.Sprintf("https://race.example/%d", i), GUID: fmt.Sprintf("later:%d", i)}
			}},
	}
	for _, round := range rounds {
		type result struct {
			st      feeds.Story
			created bool
			err     error
		}
		results := make([]result, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range racers {
			wg.Go(func() {
				st := round.racer(i)
				st.PublishedAt, st.FirstSeenAt = base, base
				<-start
				r := &results[i]
				r.st, r.created, r.err = s.AddStory(t.Context(), st)
			})
		}
		close(start)
		wg.Wait()

		winner := -1
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("shared %s: AddStory: %v", round.shared, r.err)
			}
			if r.created {
				if winner >= 0 {
					t.Fatalf("shared %s: racers %d and %d both created a story", round.shared, winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("shared %s: none of %d racers created the story", round.shared, racers)
		}
		for i, r := range results {
			if r.st.ID != results[winner].st.ID {
				t.Errorf("shared %s: racer %d got story %d, want the winner's %d", round.shared, i, r.st.ID, results[winner].st.ID)
			}
		}
		countIs(t, s, feeds.StoryFilter{SourceID: round.sourceID}, 1)

		for i := range racers {
			st := round.later(i)
			st.PublishedAt, st.FirstSeenAt = base, base
			_, created, err := s.AddStory(t.Context(), st)
			if err != nil {
				t.Fatal(err)
			}
			if want := i != winner; created != want {
				t.Errorf("shared %s: a story with only racer %d's other key: created = %v, want %v",
					round.shared, i, created, want)
			}
		}
	}
}

func countIs(t *testing.T, s feeds.Store, f feeds.StoryFilter, want int) {
	t.Helper()
	n, err := s.CountStories(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("CountStories(%s) = %d, want %d", describe(f), n, want)
	}
}

// testOrder checks newest PublishedAt first, to the nanosecond, then ID
// descending among equal times.
func testOrder(t *testing.T, s feeds.Store) {
	offsets := []time.Duration{5, 0, 3 * time.Hour, 1, 0, -time.Hour, 3 * time.Hour, 2}
	var added []feeds.Story
	for i, off := range offsets {
		added = append(added, mustAddStory(t, s, newStory(i, 1, base.Add(off).In(elsewhere))))
	}
	want := slices.Clone(added)
	sortStories(want)
	got, err := s.Stories(t.Context(), feeds.StoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Errorf("Stories order = %v, want %v", ids(got), ids(want))
	}
}

func testPagination(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	var visible []feeds.Story
	for i := range 25 {
		// Three stories share each time, so pages split ties too.
		st := newStory(i, 1, base.Add(time.Duration(i/3)*time.Minute))
		st.Visible = i%5 != 0
		added := mustAddStory(t, s, st)
		if st.Visible {
			visible = append(visible, added)
		}
	}
	sortStories(visible)
	countIs(t, s, feeds.StoryFilter{VisibleOnly: true, Limit: 3, Offset: 4}, len(visible))

	const perPage = 7
	var paged []int64
	for off := 0; off < len(visible)+perPage; off += perPage {
		f := feeds.StoryFilter{VisibleOnly: true, Limit: perPage, Offset: off}
		page, err := s.Stories(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		wantLen := max(0, min(perPage, len(visible)-off))
		if len(page) != wantLen {
			t.Errorf("Stories(%s): %d stories, want %d", describe(f), len(page), wantLen)
		}
		paged = append(paged, ids(page)...)
	}
	if !slices.Equal(paged, ids(visible)) {
		t.Errorf("pages put together = %v\nwant %v", paged, ids(visible))
	}
	// The same page asked twice is the same page.
	f := feeds.StoryFilter{VisibleOnly: true, Limit: perPage, Offset: perPage}
	p1, err1 := s.Stories(ctx, f)
	p2, err2 := s.Stories(ctx, f)
	if err1 != nil || err2 != nil || !slices.Equal(ids(p1), ids(p2)) {
		t.Errorf("the same page twice: %v (%v) and %v (%v)", ids(p1), err1, ids(p2), err2)
	}
	// An offset without a limit runs to the end.
	rest, err := s.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, Offset: 5})
	if err != nil || !slices.Equal(ids(rest), ids(visible[5:])) {
		t.Errorf("Stories(Offset 5) = %v, %v; want %v", ids(rest), err, ids(visible[5:]))
	}
}

func testSetSimilar(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	a := mustAddStory(t, s, newStory(1, 1, base))
	b := mustAddStory(t, s, newStory(2, 1, base.Add(time.Hour)))
	c := mustAddStory(t, s, newStory(3, 1, base.Add(2*time.Hour)))
	for _, similar := range [][]feeds.Related{
		{{ID: b.ID, Score: 0.9 + 0.05}, {ID: c.ID, Score: 1.0 / 7}},
		{{ID: c.ID, Score: 0.5}},
		nil,
	} {
		if err := s.SetSimilar(ctx, a.ID, similar); err != nil {
			t.Fatal(err)
		}
		got, err := s.Story(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := a
		want.Similar = similar
		if d := diffStory(got, want); d != "" {
			t.Errorf("after SetSimilar(%v): %s", similar, d)
		}
	}
	// The story is still where it was in every list.
	got, err := s.Stories(ctx, feeds.StoryFilter{VisibleOnly: true})
	if err != nil || !slices.Equal(ids(got), []int64{c.ID, b.ID, a.ID}) {
		t.Errorf("Stories after SetSimilar = %v, %v; want %v", ids(got), err, []int64{c.ID, b.ID, a.ID})
	}
}

func testMarkOnce(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	for _, c := range []struct {
		name  string
		first bool
	}{{"builtin-feeds", true}, {"builtin-feeds", false}, {"other-step", true}, {"builtin-feeds", false}} {
		first, err := s.MarkOnce(ctx, c.name)
		if err != nil {
			t.Fatal(err)
		}
		if first != c.first {
			t.Errorf("MarkOnce(%q) = %v, want %v", c.name, first, c.first)
		}
	}
}

func testMarkOnceRace(t *testing.T, s feeds.Store) {
	const racers = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	start := make(chan struct{})
	for range racers {
		wg.Go(func() {
			<-start
			first, err := s.MarkOnce(t.Context(), "load-defaults")
			if err != nil {
				t.Error(err)
				return
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d of %d concurrent MarkOnce calls were first, want 1", firsts, racers)
	}
}

// sortStories orders stories as the contract does: newest first, then by ID
// descending.
func sortStories(sts []feeds.Story) {
	slices.SortFunc(sts, func(a, b feeds.Story) int {
		if c := b.PublishedAt.Compare(a.PublishedAt); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
}

// describe prints a filter compactly for failure messages.
func describe(f feeds.StoryFilter) string {
	return fmt.Sprintf("%+v", f)
}
