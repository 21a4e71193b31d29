package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// fixture is a small news site: two sources, ten stories, two clusters.
type fixture struct {
	a, b feeds.Source
	all  []feeds.Story
	by   map[string]feeds.Story // s01…s10
}

// addFixture stores the fixture's stories:
//
//	name source hour visible tags                      cluster
//	s01  a      1    yes     encryption                leader
//	s02  b      2    yes     surveillance              leader
//	s03  a      3    no      encryption                leader
//	s04  b      4    yes     encryption, surveillance  s01
//	s05  a      5    yes     -                         leader
//	s06  b      6    yes     encryption                s01
//	s07  a      6    yes     surveillance              leader
//	s08  b      7    no      surveillance              s02
//	s09  a      8    yes     encryption                leader
//	s10  b      9    yes     encryption, surveillance  s02
func addFixture(t *testing.T, s feeds.Store) fixture {
	t.Helper()
	f := fixture{by: map[string]feeds.Story{}}
	f.a = mustAddSource(t, s, feeds.Source{URL: "https://a.example/feed"})
	f.b = mustAddSource(t, s, feeds.Source{URL: "https://b.example/feed"})
	rows := []struct {
		name    string
		src     int64
		hour    int
		visible bool
		tags    []string
		cluster string
	}{
		{"s01", f.a.ID, 1, true, []string{"encryption"}, ""},
		{"s02", f.b.ID, 2, true, []string{"surveillance"}, ""},
		{"s03", f.a.ID, 3, false, []string{"encryption"}, ""},
		{"s04", f.b.ID, 4, true, []string{"encryption", "surveillance"}, "s01"},
		{"s05", f.a.ID, 5, true, nil, ""},
		{"s06", f.b.ID, 6, true, []string{"encryption"}, "s01"},
		{"s07", f.a.ID, 6, true, []string{"surveillance"}, ""},
		{"s08", f.b.ID, 7, false, []string{"surveillance"}, "s02"},
		{"s09", f.a.ID, 8, true, []string{"encryption"}, ""},
		{"s10", f.b.ID, 9, true, []string{"encryption", "surveillance"}, "s02"},
	}
	for i, r := range rows {
		st := newStory(i+1, r.src, base.Add(time.Duration(r.hour)*time.Hour))
		st.Visible, st.Tags = r.visible, r.tags
		if r.cluster != "" {
			st.ClusterID = f.by[r.cluster].ID
		}
		if i%2 == 1 {
			st.PublishedAt = st.PublishedAt.In(elsewhere)
		}
		added := mustAddStory(t, s, st)
		f.by[r.name] = added
		f.all = append(f.all, added)
	}
	return f
}

// want is the model answer: what the contract says f selects from all.
func want(all []feeds.Story, f feeds.StoryFilter) []feeds.Story {
	var out []feeds.Story
	for _, st := range all {
		switch {
		case f.VisibleOnly && !st.Visible,
			f.LeadersOnly && st.ClusterID != 0,
			f.SourceID != 0 && st.SourceID != f.SourceID,
			f.Tag != "" && !slices.Contains(st.Tags, f.Tag),
			f.ClusterID != 0 && st.ClusterID != f.ClusterID,
			f.IDs != nil && !slices.Contains(f.IDs, st.ID),
			!f.Since.IsZero() && st.PublishedAt.Before(f.Since):
			continue
		}
		out = append(out, st)
	}
	sortStories(out)
	out = out[min(max(f.Offset, 0), len(out)):]
	if f.Limit > 0 && f.Limit < len(out) {
		out = out[:f.Limit]
	}
	return out
}

// check compares Stories and CountStories for f with the model.
func check(t *testing.T, s feeds.Store, all []feeds.Story, f feeds.StoryFilter) {
	t.Helper()
	got, err := s.Stories(t.Context(), f)
	if err != nil {
		t.Fatalf("Stories(%s): %v", describe(f), err)
	}
	if w := want(all, f); !slices.Equal(ids(got), ids(w)) {
		t.Errorf("Stories(%s) = %v, want %v", describe(f), ids(got), ids(w))
	}
	unpaged := f
	unpaged.Limit, unpaged.Offset = 0, 0
	countIs(t, s, f, len(want(all, unpaged)))
}

// testSiteFilters checks the filters the site's pages use, with the expected
// stories written out by hand (which also checks the model).
func testSiteFilters(t *testing.T, s feeds.Store) {
	fx := addFixture(t, s)
	since := base.Add(6 * time.Hour)
	cases := []struct {
		page   string
		filter feeds.StoryFilter
		want   []string // in any order; the order is checked against the model
	}{
		{"everything (admin, sitemap)", feeds.StoryFilter{},
			[]string{"s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09", "s10"}},
		{"home page", feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Limit: 30},
			[]string{"s01", "s02", "s05", "s07", "s09"}},
		{"home page 2", feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Limit: 2, Offset: 2},
			[]string{"s05", "s02"}},
		{"topic page", feeds.StoryFilter{VisibleOnly: true, Tag: "encryption"},
			[]string{"s01", "s04", "s06", "s09", "s10"}},
		{"topic page, leaders", feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Tag: "encryption"},
			[]string{"s01", "s09"}},
		{"source page", feeds.StoryFilter{VisibleOnly: true, SourceID: fx.a.ID},
			[]string{"s01", "s05", "s07", "s09"}},
		{"source, hidden too", feeds.StoryFilter{SourceID: fx.b.ID},
			[]string{"s02", "s04", "s06", "s08", "s10"}},
		{"also covered by", feeds.StoryFilter{ClusterID: fx.by["s01"].ID},
			[]string{"s04", "s06"}},
		{"also covered by, visible", feeds.StoryFilter{VisibleOnly: true, ClusterID: fx.by["s02"].ID},
			[]string{"s10"}},
		{"similar posts", feeds.StoryFilter{VisibleOnly: true, IDs: []int64{fx.by["s03"].ID, fx.by["s05"].ID, fx.by["s10"].ID, 987654}},
			[]string{"s05", "s10"}},
		{"weekly digest", feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Since: since},
			[]string{"s07", "s09"}},
		{"site feed", feeds.StoryFilter{VisibleOnly: true, Since: since.In(elsewhere), Limit: 50},
			[]string{"s06", "s07", "s09", "s10"}},
		{"tag and source", feeds.StoryFilter{VisibleOnly: true, Tag: "surveillance", SourceID: fx.b.ID},
			[]string{"s02", "s04", "s10"}},
		{"unknown tag", feeds.StoryFilter{Tag: "no-such-tag"}, nil},
		{"unknown source", feeds.StoryFilter{SourceID: 987654}, nil},
		{"past the end", feeds.StoryFilter{Offset: 10}, nil},
	}
	for _, c := range cases {
		var w []int64
		for _, n := range c.want {
			w = append(w, fx.by[n].ID)
		}
		slices.Sort(w)
		model := ids(want(fx.all, c.filter))
		slices.Sort(model)
		if !slices.Equal(model, w) {
			t.Fatalf("%s: the suite's model selects %v, the table says %v", c.page, model, w)
		}
		check(t, s, fx.all, c.filter)
	}
}

// testFilterCombinations checks every combination of filter fields against
// the model.
func testFilterCombinations(t *testing.T, s feeds.Store) {
	fx := addFixture(t, s)
	some := []int64{fx.by["s02"].ID, fx.by["s04"].ID, fx.by["s06"].ID, fx.by["s07"].ID, fx.by["s09"].ID}
	for _, visible := range []bool{false, true} {
		for _, leaders := range []bool{false, true} {
			for _, src := range []int64{0, fx.a.ID, fx.b.ID} {
				for _, tag := range []string{"", "encryption", "surveillance"} {
					for _, cluster := range []int64{0, fx.by["s01"].ID} {
						for _, idList := range [][]int64{nil, some} {
							for _, since := range []time.Time{{}, base.Add(4 * time.Hour)} {
								for _, pg := range [][2]int{{0, 0}, {2, 1}} {
									check(t, s, fx.all, feeds.StoryFilter{
										VisibleOnly: visible, LeadersOnly: leaders, SourceID: src,
										Tag: tag, ClusterID: cluster, IDs: idList, Since: since,
										Limit: pg[0], Offset: pg[1],
									})
								}
							}
						}
					}
				}
			}
		}
	}
}

func testIDs(t *testing.T, s feeds.Store) {
	fx := addFixture(t, s)
	s03, s05, s10 := fx.by["s03"].ID, fx.by["s05"].ID, fx.by["s10"].ID
	for _, f := range []feeds.StoryFilter{
		{IDs: []int64{}}, // an empty list selects nothing, unlike nil
		{IDs: []int64{s05}},
		{IDs: []int64{s05, s10, s03}},
		{IDs: []int64{s10, s10, s05}}, // repeats count once
		{IDs: []int64{987654, -1, 0}},
		{IDs: []int64{s03, s05, s10}, VisibleOnly: true},
		{IDs: []int64{s03, s05, s10}, Limit: 1, Offset: 1},
		{IDs: []int64{s03, s05, s10}, Tag: "encryption"},
	} {
		check(t, s, fx.all, f)
	}
}

// Since keeps stories published at or after it, to the nanosecond.
func testSince(t *testing.T, s feeds.Store) {
	var all []feeds.Story
	for i, off := range []time.Duration{-time.Nanosecond, 0, time.Nanosecond, time.Hour} {
		all = append(all, mustAddStory(t, s, newStory(i, 1, base.Add(off))))
	}
	check(t, s, all, feeds.StoryFilter{Since: base})
	check(t, s, all, feeds.StoryFilter{Since: base.In(elsewhere)})
	check(t, s, all, feeds.StoryFilter{Since: base.Add(time.Nanosecond)})
	check(t, s, all, feeds.StoryFilter{Since: base.Add(2 * time.Hour)})
	n, err := s.CountStories(t.Context(), feeds.StoryFilter{Since: base})
	if err != nil || n != 3 {
		t.Errorf("CountStories(Since: base) = %d, %v; want 3", n, err)
	}
}
