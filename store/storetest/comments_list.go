package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/tidings/tidings/comments"
)

var allStatuses = []comments.Status{comments.Pending, comments.Approved, comments.Spam, comments.Rejected}

// addCommentMix adds 16 comments spread over stories 1, 2 and 3 and over the
// four statuses, interleaved, so that no story's or status's IDs are
// consecutive.
func addCommentMix(t *testing.T, s comments.Store) []comments.Comment {
	t.Helper()
	stories := []int64{1, 2, 1, 3, 1, 2}
	out := make([]comments.Comment, 16)
	for i := range out {
		c := newComment(i, stories[i%len(stories)])
		c.Status = allStatuses[(i/2)%len(allStatuses)]
		out[i] = mustAddComment(t, s, c)
	}
	return out
}

// matchFilter is what Comments must return, worked out the slow way.
func matchFilter(all []comments.Comment, f comments.Filter) []int64 {
	var out []int64
	for _, c := range all {
		if f.StoryID != 0 && c.StoryID != f.StoryID ||
			len(f.Statuses) > 0 && !slices.Contains(f.Statuses, c.Status) ||
			len(f.IDs) > 0 && !slices.Contains(f.IDs, c.ID) ||
			c.ID <= f.AfterID {
			continue
		}
		out = append(out, c.ID)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// Each field of the filter alone, with the results spelled out.
func testCommentsFilters(t *testing.T, s comments.Store) {
	all := addCommentMix(t, s)
	id := func(i ...int) []int64 {
		out := make([]int64, len(i))
		for k, n := range i {
			out[k] = all[n].ID
		}
		return out
	}
	// Comment i: story stories[i%6], status allStatuses[(i/2)%4].
	cases := []struct {
		name string
		f    comments.Filter
		want []int64
	}{
		{"everything", comments.Filter{}, commentIDs(all)},
		{"story 2", comments.Filter{StoryID: 2}, id(1, 5, 7, 11, 13)},
		{"story 3", comments.Filter{StoryID: 3}, id(3, 9, 15)},
		{"story without comments", comments.Filter{StoryID: 99}, nil},
		{"approved", comments.Filter{Statuses: []comments.Status{comments.Approved}}, id(2, 3, 10, 11)},
		{"pending or spam", comments.Filter{Statuses: []comments.Status{comments.Spam, comments.Pending}},
			id(0, 1, 4, 5, 8, 9, 12, 13)},
		{"IDs, unordered, repeated, one missing", comments.Filter{IDs: append(id(7, 2, 7), 9999)}, id(2, 7)},
		{"after the fifth", comments.Filter{AfterID: all[4].ID}, id(5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)},
		{"after the last", comments.Filter{AfterID: all[15].ID}, nil},
		{"first three", comments.Filter{Limit: 3}, id(0, 1, 2)},
		{"negative limit", comments.Filter{Limit: -1}, commentIDs(all)},
		{"story 1 approved", comments.Filter{StoryID: 1, Statuses: []comments.Status{comments.Approved}}, id(2, 10)},
		{"story 1 rejected after 6, one", comments.Filter{StoryID: 1,
			Statuses: []comments.Status{comments.Rejected}, AfterID: all[6].ID, Limit: 1}, id(14)},
		{"story 2 rejected, two", comments.Filter{StoryID: 2,
			Statuses: []comments.Status{comments.Rejected}, Limit: 2}, id(7)},
	}
	for _, tc := range cases {
		if want := matchFilter(all, tc.f); !slices.Equal(want, tc.want) {
			t.Fatalf("%s: the test's own expectation is wrong: %v vs %v", tc.name, want, tc.want)
		}
		got := listComments(t, s, tc.f)
		if !slices.Equal(commentIDs(got), tc.want) {
			t.Errorf("%s: Comments = %v, want %v", tc.name, commentIDs(got), tc.want)
		}
		for _, c := range got {
			if d := diffComment(c, all[slices.Index(commentIDs(all), c.ID)]); d != "" {
				t.Errorf("%s: comment %d: %s", tc.name, c.ID, d)
			}
		}
	}
}

// Every combination of the filter's fields gives what the slow reference
// gives.
func testCommentsFilterCombinations(t *testing.T, s comments.Store) {
	all := addCommentMix(t, s)
	storyIDs := []int64{0, 1, 2, 99}
	statuses := [][]comments.Status{
		nil, {comments.Approved}, {comments.Pending, comments.Spam}, allStatuses,
		{comments.Rejected, comments.Rejected},
	}
	idSets := [][]int64{nil, {all[3].ID}, {all[15].ID, all[0].ID, all[2].ID, all[8].ID, all[9].ID, 12345}}
	afters := []int64{0, all[2].ID, all[9].ID}
	limits := []int{0, 1, 2}
	n := 0
	for _, story := range storyIDs {
		for _, st := range statuses {
			for _, ids := range idSets {
				for _, after := range afters {
					for _, limit := range limits {
						f := comments.Filter{StoryID: story, Statuses: st, IDs: ids, AfterID: after, Limit: limit}
						got, err := s.Comments(t.Context(), f)
						if err != nil {
							t.Fatalf("Comments(%+v): %v", f, err)
						}
						if want := matchFilter(all, f); !slices.Equal(commentIDs(got), want) {
							t.Errorf("Comments(%+v) = %v, want %v", f, commentIDs(got), want)
							if n++; n > 10 {
								t.Fatal("too many differences")
							}
						}
					}
				}
			}
		}
	}
}

// Paging by AfterID and Limit walks a story's comments once each, oldest
// first, and sees one added meanwhile.
func testCommentsPaging(t *testing.T, s comments.Store) {
	want := commentIDs(addComments(t, s, 0, 25, 4, comments.Approved))
	addComments(t, s, 100, 5, 5, comments.Approved) // another story
	var got []int64
	var after int64
	for page := 0; ; page++ {
		if page > 10 {
			t.Fatal("paging does not end")
		}
		cs := listComments(t, s, comments.Filter{StoryID: 4, AfterID: after, Limit: 10})
		if len(cs) > 10 {
			t.Fatalf("page %d has %d comments, limit 10", page, len(cs))
		}
		if len(cs) == 0 {
			break
		}
		got = append(got, commentIDs(cs)...)
		after = cs[len(cs)-1].ID
		if page == 1 {
			want = append(want, mustAddComment(t, s, newComment(200, 4)).ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("paging gave %v, want %v", got, want)
	}
}

func testCommentsBadFilter(t *testing.T, s comments.Store) {
	addCommentMix(t, s)
	for _, st := range [][]comments.Status{{"bogus"}, {comments.Approved, ""}, {"Approved"}} {
		f := comments.Filter{Statuses: st}
		if got, err := s.Comments(t.Context(), f); err == nil {
			t.Errorf("Comments(%s) = %v, want an error", fmt.Sprint(st), commentIDs(got))
		}
	}
}
