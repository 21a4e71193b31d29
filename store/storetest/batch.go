package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// testAddStories: a batch is stored in order, deduplicated against the store
// and within itself, and each result says what happened to its story.
func testAddStories(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	src := mustAddSource(t, s, feeds.Source{URL: "https://batch.example/feed"})
	old := mustAddStory(t, s, newStory(1, src.ID, base))

	again := newStory(1, src.ID, base) // same keys as old
	fresh := newStory(2, src.ID, base.Add(1))
	twin := newStory(3, src.ID, base.Add(2))
	twin.URL = fresh.URL // shares a key with an earlier story of the batch
	other := newStory(4, src.ID, base.Add(3))
	other.Tags = []string{"metadata", "encryption"}

	added, err := s.AddStories(ctx, []feeds.Story{again, fresh, twin, other})
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 4 {
		t.Fatalf("AddStories returned %d results, want 4", len(added))
	}
	want := []struct {
		created bool
		title   string
	}{{false, old.Title}, {true, fresh.Title}, {false, fresh.Title}, {true, other.Title}}
	for i, w := range want {
		if added[i].Created != w.created || added[i].Story.Title != w.title || added[i].Story.ID == 0 {
			t.Errorf("result %d = created %v, %q (ID %d); want created %v, %q",
				i, added[i].Created, added[i].Story.Title, added[i].Story.ID, w.created, w.title)
		}
	}
	if added[0].Story.ID != old.ID || added[2].Story.ID != added[1].Story.ID {
		t.Error("duplicates do not point at the story holding their key")
	}
	if got := added[3].Story.Tags; len(got) != 2 || got[0] != "encryption" {
		t.Errorf("tags of a batch story = %v", got)
	}
	if n, err := s.CountStories(ctx, feeds.StoryFilter{}); err != nil || n != 3 {
		t.Errorf("stored %d stories (%v), want 3", n, err)
	}
	if empty, err := s.AddStories(ctx, nil); err != nil || len(empty) != 0 {
		t.Errorf("AddStories(nil) = %v, %v", empty, err)
	}
}

// testSetSimilarMany: several lists written at once; unknown IDs skipped.
func testSetSimilarMany(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	src := mustAddSource(t, s, feeds.Source{URL: "https://similar.example/feed"})
	a := mustAddStory(t, s, newStory(1, src.ID, base))
	b := mustAddStory(t, s, newStory(2, src.ID, base))
	err := s.SetSimilarMany(ctx, map[int64][]feeds.Related{
		a.ID:  {{ID: b.ID, Score: 0.75}},
		b.ID:  {{ID: a.ID, Score: 0.75}},
		99999: {{ID: a.ID, Score: 0.5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{a.ID, b.ID} {
		st, err := s.Story(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Similar) != 1 || st.Similar[0].Score != 0.75 || st.Similar[0].ID == id {
			t.Errorf("story %d Similar = %v", id, st.Similar)
		}
	}
	if err := s.SetSimilarMany(ctx, map[int64][]feeds.Related{a.ID: nil}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Story(ctx, a.ID); len(st.Similar) != 0 {
		t.Errorf("cleared list = %v", st.Similar)
	}
}

// testClusterIDs: the followers of several leaders in one read, newest first,
// with the other filters still applied.
func testClusterIDs(t *testing.T, s feeds.Store) {
	ctx := t.Context()
	src := mustAddSource(t, s, feeds.Source{URL: "https://clusters.example/feed"})
	a := mustAddStory(t, s, newStory(1, src.ID, base))
	b := mustAddStory(t, s, newStory(2, src.ID, base.Add(1)))
	c := mustAddStory(t, s, newStory(3, src.ID, base.Add(2)))
	follow := func(n int, leader int64, at int, visible bool) feeds.Story {
		st := newStory(n, src.ID, base.Add(time.Duration(at)))
		st.ClusterID, st.Visible = leader, visible
		return mustAddStory(t, s, st)
	}
	a1 := follow(10, a.ID, 10, true)
	b1 := follow(11, b.ID, 11, true)
	a2 := follow(12, a.ID, 12, true)
	follow(13, b.ID, 13, false) // hidden
	follow(14, c.ID, 14, true)  // another cluster

	ids := func(sts []feeds.Story) []int64 {
		var out []int64
		for _, st := range sts {
			out = append(out, st.ID)
		}
		return out
	}
	got, err := s.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, ClusterIDs: []int64{a.ID, b.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{a2.ID, b1.ID, a1.ID}; !slices.Equal(ids(got), want) {
		t.Errorf("ClusterIDs {a, b} visible = %v, want %v", ids(got), want)
	}
	if n, err := s.CountStories(ctx, feeds.StoryFilter{ClusterIDs: []int64{a.ID, b.ID}}); err != nil || n != 4 {
		t.Errorf("count of ClusterIDs {a, b} = %d (%v), want 4 (hidden included)", n, err)
	}
	got, err = s.Stories(ctx, feeds.StoryFilter{ClusterIDs: []int64{a.ID, b.ID}, Limit: 1, Offset: 1})
	if err != nil || len(got) != 1 {
		t.Fatalf("a page of ClusterIDs: %v, %v", ids(got), err)
	}
	if got, err := s.Stories(ctx, feeds.StoryFilter{ClusterIDs: []int64{}}); err != nil || len(got) != 0 {
		t.Errorf("empty ClusterIDs = %v (%v), want none", ids(got), err)
	}
	if got, err := s.Stories(ctx, feeds.StoryFilter{ClusterIDs: []int64{a.ID}, IDs: []int64{a1.ID, b1.ID}}); err != nil || !slices.Equal(ids(got), []int64{a1.ID}) {
		t.Errorf("ClusterIDs with IDs = %v (%v), want [%d]", ids(got), err, a1.ID)
	}
}
