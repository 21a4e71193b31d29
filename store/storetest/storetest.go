// Package storetest holds the conformance suites every store runs unchanged,
// the way testing/fstest checks any fs.FS. Import it from tests only.
package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// TestFeedsStore checks every promise of feeds.Store. open must return a
// fresh, empty store each time it is called (one per subtest) and arrange for
// it to be closed when t ends. Subtests run in parallel.
func TestFeedsStore(t *testing.T, open func(t *testing.T) feeds.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s feeds.Store)
	}{
		{"AddSource", testAddSource},
		{"AddSourceDuplicate", testAddSourceDuplicate},
		{"NotFound", testNotFound},
		{"UpdateSourceRoundTrip", testUpdateSourceRoundTrip},
		{"UpdateSourceURLTaken", testUpdateSourceURLTaken},
		{"SourcesOrderAndDueBy", testSourcesDueBy},
		{"RemoveSourceKeepsStories", testRemoveSource},
		{"ClaimDue", testClaimDue},
		{"ClaimDueLimit", testClaimDueLimit},
		{"ClaimDueRace", testClaimDueRace},
		{"AddStoryRoundTrip", testAddStoryRoundTrip},
		{"DedupeByURL", testDedupeByURL},
		{"DedupeByGUID", testDedupeByGUID},
		{"DedupeWithoutKeys", testDedupeWithoutKeys},
		{"AddStoryRace", testAddStoryRace},
		{"Order", testOrder},
		{"Pagination", testPagination},
		{"SiteFilters", testSiteFilters},
		{"EveryFilterCombination", testFilterCombinations},
		{"IDs", testIDs},
		{"Since", testSince},
		{"SetSimilar", testSetSimilar},
		{"AddStories", testAddStories},
		{"SetSimilarMany", testSetSimilarMany},
		{"ClusterIDs", testClusterIDs},
		{"MarkOnce", testMarkOnce},
		{"MarkOnceRace", testMarkOnceRace},
		{"Search", testSearch},
		{"SearchPages", testSearchPages},
		{"SearchBadQuery", testSearchBadQuery},
		{"SearchInjection", testSearchInjection},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// base is a fixed instant with nanoseconds, so rounding by a store shows.
var base = time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.UTC)

// elsewhere is a zone with a half-hour offset: stores must return UTC.
var elsewhere = time.FixedZone("UTC+05:30", 5*3600+1800)

func mustAddSource(t *testing.T, s feeds.Store, src feeds.Source) feeds.Source {
	t.Helper()
	got, err := s.AddSource(t.Context(), src)
	if err != nil {
		t.Fatalf("AddSource(%q): %v", src.URL, err)
	}
	return got
}

func mustAddStory(t *testing.T, s feeds.Store, st feeds.Story) feeds.Story {
	t.Helper()
	got, created, err := s.AddStory(t.Context(), st)
	if err != nil {
		t.Fatalf("AddStory(%q): %v", st.URL, err)
	}
	if !created {
		t.Fatalf("AddStory(%q): created = false, want true", st.URL)
	}
	return got
}

// newStory is a plausible story; n makes its keys unique.
func newStory(n int, sourceID int64, published time.Time) feeds.Story {
	return feeds.Story{
		SourceID:    sourceID,
		GUID:        fmt.Sprintf("src%d:item-%d", sourceID, n),
		URL:         fmt.Sprintf("https://news.example/%d/article-%d", sourceID, n),
		Title:       fmt.Sprintf("Story number %d", n),
		Summary:     "A short plain-text summary.",
		Content:     "<p>Body</p>",
		Author:      "A. Writer",
		PublishedAt: published,
		FirstSeenAt: published.Add(time.Minute),
		Relevance:   0.5,
		Visible:     true,
	}
}

// diffSource describes how two sources differ, or returns "".
func diffSource(got, want feeds.Source) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.URL != want.URL {
		add("URL", got.URL, want.URL)
	}
	if got.Title != want.Title {
		add("Title", got.Title, want.Title)
	}
	if got.SiteURL != want.SiteURL {
		add("SiteURL", got.SiteURL, want.SiteURL)
	}
	if got.OnTopic != want.OnTopic {
		add("OnTopic", got.OnTopic, want.OnTopic)
	}
	if got.Paused != want.Paused {
		add("Paused", got.Paused, want.Paused)
	}
	if got.ETag != want.ETag {
		add("ETag", got.ETag, want.ETag)
	}
	if got.LastModified != want.LastModified {
		add("LastModified", got.LastModified, want.LastModified)
	}
	if got.LastError != want.LastError {
		add("LastError", got.LastError, want.LastError)
	}
	if got.ErrorCount != want.ErrorCount {
		add("ErrorCount", got.ErrorCount, want.ErrorCount)
	}
	d = append(d, diffTime("LastPolledAt", got.LastPolledAt, want.LastPolledAt)...)
	d = append(d, diffTime("NextPollAt", got.NextPollAt, want.NextPollAt)...)
	d = append(d, diffTime("CreatedAt", got.CreatedAt, want.CreatedAt)...)
	return strings.Join(d, "; ")
}

// diffStory describes how two stories differ, or returns "".
func diffStory(got, want feeds.Story) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.SourceID != want.SourceID {
		add("SourceID", got.SourceID, want.SourceID)
	}
	for _, f := range []struct{ name, g, w string }{
		{"GUID", got.GUID, want.GUID}, {"URL", got.URL, want.URL}, {"Title", got.Title, want.Title},
		{"Summary", got.Summary, want.Summary}, {"Content", got.Content, want.Content},
		{"Author", got.Author, want.Author},
	} {
		if f.g != f.w {
			add(f.name, f.g, f.w)
		}
	}
	d = append(d, diffTime("PublishedAt", got.PublishedAt, want.PublishedAt)...)
	d = append(d, diffTime("FirstSeenAt", got.FirstSeenAt, want.FirstSeenAt)...)
	if got.Relevance != want.Relevance {
		add("Relevance", got.Relevance, want.Relevance)
	}
	if !slices.Equal(got.Tags, want.Tags) {
		add("Tags", got.Tags, want.Tags)
	}
	if got.Visible != want.Visible {
		add("Visible", got.Visible, want.Visible)
	}
	if got.ClusterID != want.ClusterID {
		add("ClusterID", got.ClusterID, want.ClusterID)
	}
	if !slices.Equal(got.Similar, want.Similar) {
		add("Similar", got.Similar, want.Similar)
	}
	return strings.Join(d, "; ")
}

// diffTime requires the same instant, returned in UTC.
func diffTime(field string, got, want time.Time) []string {
	var d []string
	if !got.Equal(want) {
		d = append(d, fmt.Sprintf("%s = %v, want %v", field, got, want.UTC()))
	}
	if got.Location() != time.UTC {
		d = append(d, fmt.Sprintf("%s is in %v, want UTC", field, got.Location()))
	}
	return d
}

// ids lists the IDs of stories in order.
func ids(sts []feeds.Story) []int64 {
	out := make([]int64, len(sts))
	for i, st := range sts {
		out[i] = st.ID
	}
	return out
}
