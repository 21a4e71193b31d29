package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

func testAddSource(t *testing.T, s feeds.Store) {
	before := time.Now()
	a := mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed.xml", SiteURL: "https://a.example/", OnTopic: true})
	after := time.Now()
	if a.ID <= 0 {
		t.Fatalf("ID = %d, want > 0", a.ID)
	}
	if a.CreatedAt.Before(before.Add(-time.Second)) || a.CreatedAt.After(after.Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about %v", a.CreatedAt, before)
	}
	want := feeds.Source{ID: a.ID, URL: "https://a.example/feed.xml", SiteURL: "https://a.example/",
		OnTopic: true, CreatedAt: a.CreatedAt}
	if d := diffSource(a, want); d != "" {
		t.Errorf("AddSource returned: %s", d)
	}
	got, err := s.Source(t.Context(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := diffSource(got, want); d != "" {
		t.Errorf("Source: %s", d)
	}
	b := mustAddSource(t, s, feeds.Source{URL: "https://b.example/rss"})
	if b.ID == a.ID {
		t.Fatalf("two sources share ID %d", a.ID)
	}
}

func testAddSourceDuplicate(t *testing.T, s feeds.Store) {
	a := mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed.xml", Title: "First"})
	got, err := s.AddSource(t.Context(), feeds.Source{URL: "https://a.example/feed.xml", Title: "Second"})
	if !errors.Is(err, feeds.ErrExists) {
		t.Fatalf("second AddSource: err = %v, want ErrExists", err)
	}
	if d := diffSource(got, a); d != "" {
		t.Errorf("second AddSource must return the stored source: %s", d)
	}
	all, err := s.Sources(t.Context(), feeds.SourceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Errorf("Sources: %d sources, want 1", len(all))
	}
}

func testNotFound(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	if _, err := s.Source(ctx, 4242); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("Source(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.UpdateSource(ctx, feeds.Source{ID: 4242, URL: "https://x.example/"}); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("UpdateSource(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.RemoveSource(ctx, 4242); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("RemoveSource(missing): err = %v, want ErrNotFound", err)
	}
	if _, err := s.Story(ctx, 4242); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("Story(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.SetSimilar(ctx, 4242, []feeds.Related{{ID: 1, Score: 1}}); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("SetSimilar(missing): err = %v, want ErrNotFound", err)
	}
	// An empty store lists nothing, without error.
	if sts, err := s.Stories(ctx, feeds.StoryFilter{}); err != nil || len(sts) != 0 {
		t.Errorf("Stories on an empty store = %v, %v; want none", ids(sts), err)
	}
	if n, err := s.CountStories(ctx, feeds.StoryFilter{}); err != nil || n != 0 {
		t.Errorf("CountStories on an empty store = %d, %v; want 0", n, err)
	}
	if srcs, err := s.Sources(ctx, feeds.SourceFilter{}); err != nil || len(srcs) != 0 {
		t.Errorf("Sources on an empty store = %d sources, %v; want none", len(srcs), err)
	}
}

func testUpdateSourceRoundTrip(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	a := mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed.xml"})
	full := feeds.Source{
		ID:           a.ID,
		URL:          "https://a.example/atom.xml",
		Title:        "Ä Example — Privacy",
		SiteURL:      "https://a.example/",
		OnTopic:      true,
		Paused:       true,
		ETag:         `W/"abc-123"`,
		LastModified: "Mon, 02 Mar 2026 09:30:00 GMT",
		LastPolledAt: base.In(elsewhere),
		NextPollAt:   base.Add(30*time.Minute + 7).In(elsewhere),
		LastError:    "fetch: 503 Service Unavailable",
		ErrorCount:   3,
		CreatedAt:    base.Add(-240 * time.Hour), // must be ignored
	}
	if err := s.UpdateSource(ctx, full); err != nil {
		t.Fatal(err)
	}
	got, err := s.Source(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := full
	want.CreatedAt = a.CreatedAt
	if d := diffSource(got, want); d != "" {
		t.Errorf("after setting every field: %s", d)
	}

	// And back to zero values, which must come back as zero.
	zero := feeds.Source{ID: a.ID, URL: "https://a.example/feed.xml"}
	if err := s.UpdateSource(ctx, zero); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Source(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	want = zero
	want.CreatedAt = a.CreatedAt
	if d := diffSource(got, want); d != "" {
		t.Errorf("after clearing every field: %s", d)
	}
	if !got.LastPolledAt.IsZero() || !got.NextPollAt.IsZero() {
		t.Errorf("zero times came back as %v and %v", got.LastPolledAt, got.NextPollAt)
	}
}

// The contract makes URLs unique (AddSource's ErrExists); an update must not
// break that.
func testUpdateSourceURLTaken(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	a := mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed"})
	b := mustAddSource(t, s, feeds.Source{URL: "https://b.example/feed"})
	moved := b
	moved.URL = a.URL
	if err := s.UpdateSource(ctx, moved); !errors.Is(err, feeds.ErrExists) {
		t.Fatalf("UpdateSource to a taken URL: err = %v, want ErrExists", err)
	}
	if got, err := s.Source(ctx, b.ID); err != nil || got.URL != b.URL {
		t.Fatalf("after a refused update, source = %+v, %v; want it unchanged", got, err)
	}
	moved.URL = "https://b.example/new-feed"
	if err := s.UpdateSource(ctx, moved); err != nil {
		t.Fatal(err)
	}
	// The old URL is free again, the new one is taken.
	mustAddSource(t, s, feeds.Source{URL: "https://b.example/feed"})
	if _, err := s.AddSource(ctx, feeds.Source{URL: moved.URL}); !errors.Is(err, feeds.ErrExists) {
		t.Errorf("AddSource with the updated URL: err = %v, want ErrExists", err)
	}
}

func testSourcesDueBy(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	now := base
	add := func(url string, next time.Time, paused bool) feeds.Source {
		src := mustAddSource(t, s, feeds.Source{URL: url})
		src.NextPollAt, src.Paused = next, paused
		if err := s.UpdateSource(ctx, src); err != nil {
			t.Fatal(err)
		}
		return src
	}
	never := add("https://never-polled.example/", time.Time{}, false)
	past := add("https://past.example/", now.Add(-time.Hour), false)
	future := add("https://future.example/", now.Add(time.Nanosecond), false)
	paused := add("https://paused.example/", now.Add(-time.Hour), true)
	exact := add("https://exact.example/", now.In(elsewhere), false)
	pausedNever := add("https://paused-never.example/", time.Time{}, true)

	all, err := s.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	checkSourceIDs(t, "Sources({})", all, never, past, future, paused, exact, pausedNever)

	due, err := s.Sources(ctx, feeds.SourceFilter{DueBy: now})
	if err != nil {
		t.Fatal(err)
	}
	checkSourceIDs(t, "Sources(DueBy: now)", due, never, past, exact)

	// A source that is resumed becomes due again.
	paused.Paused = false
	if err := s.UpdateSource(ctx, paused); err != nil {
		t.Fatal(err)
	}
	if due, err = s.Sources(ctx, feeds.SourceFilter{DueBy: now}); err != nil {
		t.Fatal(err)
	}
	checkSourceIDs(t, "Sources(DueBy: now) after resuming one", due, never, past, paused, exact)
}

// checkSourceIDs requires exactly want, by ascending ID.
func checkSourceIDs(t *testing.T, what string, got []feeds.Source, want ...feeds.Source) {
	t.Helper()
	var g, w []int64
	for _, s := range got {
		g = append(g, s.ID)
	}
	for _, s := range want {
		w = append(w, s.ID)
	}
	slices.Sort(w)
	if len(g) != len(w) {
		t.Errorf("%s: IDs %v, want %v", what, g, w)
		return
	}
	for i := range g {
		if g[i] != w[i] {
			t.Errorf("%s: IDs %v, want %v (ascending)", what, g, w)
			return
		}
	}
}

func testRemoveSource(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	a := mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed"})
	b := mustAddSource(t, s, feeds.Source{URL: "https://b.example/feed"})
	st := mustAddStory(t, s, newStory(1, b.ID, base))
	if err := s.RemoveSource(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Source(ctx, b.ID); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("Source after RemoveSource: err = %v, want ErrNotFound", err)
	}
	if err := s.RemoveSource(ctx, b.ID); !errors.Is(err, feeds.ErrNotFound) {
		t.Errorf("second RemoveSource: err = %v, want ErrNotFound", err)
	}
	all, err := s.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	checkSourceIDs(t, "Sources after removing one", all, a)
	due, err := s.Sources(ctx, feeds.SourceFilter{DueBy: base})
	if err != nil {
		t.Fatal(err)
	}
	checkSourceIDs(t, "due Sources after removing one", due, a)

	// Its stories stay, still found by source.
	if _, err := s.Story(ctx, st.ID); err != nil {
		t.Errorf("Story of a removed source: %v", err)
	}
	sts, err := s.Stories(ctx, feeds.StoryFilter{SourceID: b.ID})
	if err != nil || len(sts) != 1 || sts[0].ID != st.ID {
		t.Errorf("Stories(SourceID: removed) = %v, %v; want [%d]", ids(sts), err, st.ID)
	}
	// Its URL may be added again, as a new source. The removed source had the
	// highest ID; reusing it would hand its kept stories to the newcomer.
	again := mustAddSource(t, s, feeds.Source{URL: b.URL})
	if again.ID == b.ID {
		t.Errorf("re-added source reuses ID %d, which its predecessor's stories still name", b.ID)
	}
}
