package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/transfer"
)

// RestoreStore is a store as `tidings export` and `tidings import` use it.
type RestoreStore interface {
	feeds.Store
	newsletter.Store
	comments.Store
	transfer.Dumper
	transfer.Restorer
}

// TestRestore checks the reads and writes of package store/transfer: records
// restored under their own IDs read back exactly, are found by every index
// (pages, search, claims, counts), can be restored twice, and new records
// get IDs above them. open must return a fresh, empty store each time.
func TestRestore(t *testing.T, open func(t *testing.T) RestoreStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s RestoreStore)
	}{
		{"Empty", testRestoreEmpty},
		{"RoundTrip", testRestoreRoundTrip},
		{"Twice", testRestoreTwice},
		{"IDsContinue", testRestoreIDsContinue},
		{"Conflicts", testRestoreConflicts},
		{"EachDeliveryPages", testEachDeliveryPages},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testRestoreEmpty(t *testing.T, s RestoreStore) {
	ctx := t.Context()
	if empty, err := s.IsEmpty(ctx); err != nil || !empty {
		t.Fatalf("a new store: IsEmpty = %v, %v", empty, err)
	}
	marks, err := s.OnceMarks(ctx)
	if err != nil || len(marks) != 0 {
		t.Fatalf("OnceMarks of a new store = %v, %v", marks, err)
	}
	for _, n := range []string{"b-step", "a-step"} {
		if _, err := s.MarkOnce(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	marks, err = s.OnceMarks(ctx)
	same(t, "OnceMarks", marks, []string{"a-step", "b-step"})
	if err != nil {
		t.Fatal(err)
	}
	if empty, err := s.IsEmpty(ctx); err != nil || !empty {
		t.Errorf("marks alone: IsEmpty = %v, %v; want true", empty, err)
	}
	if _, err := s.AddComment(ctx, comments.Comment{StoryID: 1, Depth: 1, Author: "a", Body: "b", Status: comments.Spam}); err != nil {
		t.Fatal(err)
	}
	if empty, err := s.IsEmpty(ctx); err != nil || empty {
		t.Errorf("with a spam comment: IsEmpty = %v, %v; want false", empty, err)
	}
}

func testRestoreRoundTrip(t *testing.T, s RestoreStore) {
	ctx := t.Context()
	f := newRestoreFixture()
	restoreAll(t, s, f)

	srcs, err := s.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	same(t, "sources", srcs, f.sources)
	due, err := s.Sources(ctx, feeds.SourceFilter{DueBy: base.Add(3 * time.Hour)})
	if err != nil || len(due) != 1 || due[0].ID != 3 {
		t.Errorf("due sources = %+v, %v; want source 3 only (7 is paused)", due, err)
	}
	for _, want := range f.stories {
		got, err := s.Story(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, fmt.Sprintf("story %d", want.ID), got, want)
	}
	for _, c := range []struct {
		f    feeds.StoryFilter
		want []int64
	}{
		{feeds.StoryFilter{}, []int64{12, 9, 5}},
		{feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true}, []int64{5}},
		{feeds.StoryFilter{Tag: "messaging"}, []int64{12, 5}},
		{feeds.StoryFilter{ClusterID: 5}, []int64{12}},
		{feeds.StoryFilter{SourceID: 7}, []int64{9}},
	} {
		got, err := s.Stories(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		same(t, fmt.Sprintf("stories %+v", c.f), storyIDs(got), c.want)
	}
	res, err := s.Search(ctx, feeds.SearchQuery{Text: "usernames"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || len(res.Stories) != 2 {
		t.Errorf("search after restore: %d results (%v), want the 2 visible stories", res.Total, storyIDs(res.Stories))
	}

	for _, want := range f.subscribers {
		got, err := s.Subscriber(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, fmt.Sprintf("subscriber %d", want.ID), got, want)
	}
	if got, err := s.SubscriberByIndex(ctx, "idx-10"); err != nil || got.ID != 10 {
		t.Errorf("SubscriberByIndex = %d, %v", got.ID, err)
	}
	counts, err := s.CountSubscribers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[newsletter.Confirmed] != 2 || counts[newsletter.Pending] != 1 || counts[newsletter.Bounced] != 1 {
		t.Errorf("CountSubscribers = %v", counts)
	}
	if n, err := s.DeletePending(ctx, base.Add(3*time.Hour)); err != nil || n != 1 {
		t.Errorf("DeletePending of a restored pending subscriber = %d, %v; want 1", n, err)
	}

	is, err := s.Issue(ctx, f.issue.Week)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "issue", is, f.issue)
	if sent, err := s.Issues(ctx, newsletter.IssueFilter{SentOnly: true}); err != nil || len(sent) != 1 {
		t.Errorf("Issues(SentOnly) = %d, %v; want the started issue", len(sent), err)
	}
	for _, want := range f.deliveries {
		got, err := s.Delivery(ctx, want.Week, want.SubscriberID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, fmt.Sprintf("delivery to %d", want.SubscriberID), got, want)
	}
	dc, err := s.CountDeliveries(ctx, f.issue.Week)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "delivery counts", dc, newsletter.DeliveryCounts{Pending: 2, Sent: 1, Failed: 1})
	// The pending delivery without NotBefore is claimable; the one held
	// by proc-1 is not, until its lease ends.
	claimed, err := s.ClaimDeliveries(ctx, f.issue.Week, "me", 10, base.Add(10*time.Hour), time.Minute)
	if err != nil || len(claimed) != 1 || claimed[0].SubscriberID != 14 {
		t.Errorf("ClaimDeliveries = %+v, %v; want the delivery to 14", claimed, err)
	}
	claimed, err = s.ClaimDeliveries(ctx, f.issue.Week, "me", 10, base.Add(1001*time.Hour), time.Minute)
	if err != nil || len(claimed) != 2 || claimed[1].SubscriberID != 15 {
		t.Errorf("ClaimDeliveries after both leases = %+v, %v; want the deliveries to 14 and 15", claimed, err)
	}

	for _, want := range f.comments {
		got, err := s.Comment(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		same(t, fmt.Sprintf("comment %d", want.ID), got, want)
	}
	thread, err := s.Comments(ctx, comments.Filter{StoryID: 5, Statuses: []comments.Status{comments.Approved}})
	if err != nil || len(thread) != 1 || thread[0].ID != 4 {
		t.Errorf("approved comments of story 5 = %v, %v", commentIDs(thread), err)
	}
	queue, err := s.Comments(ctx, comments.Filter{Statuses: []comments.Status{comments.Pending}})
	if err != nil || len(queue) != 1 || queue[0].ID != 8 {
		t.Errorf("moderation queue = %v, %v", commentIDs(queue), err)
	}
	if ok, err := s.HasApproved(ctx, "ci-1", "Ann"); err != nil || !ok {
		t.Errorf("HasApproved(Ann) = %v, %v", ok, err)
	}
	if n, err := s.CountRecent(ctx, "ip-2", base); err != nil || n != 1 {
		t.Errorf("CountRecent(ip-2) = %d, %v", n, err)
	}
	if approved, err := s.CountApproved(ctx, []int64{5, 12}); err != nil || approved[5] != 1 || approved[12] != 0 {
		t.Errorf("CountApproved = %v, %v", approved, err)
	}
	if _, err := s.SetStatus(ctx, 8, comments.Pending, comments.Approved, base); err != nil {
		t.Errorf("approving a restored comment: %v", err)
	}
	if empty, err := s.IsEmpty(ctx); err != nil || empty {
		t.Errorf("IsEmpty after restore = %v, %v", empty, err)
	}
}

func storyIDs(sts []feeds.Story) []int64 {
	ids := make([]int64, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	return ids
}

// Restoring everything again (an import run twice) changes nothing.
func testRestoreTwice(t *testing.T, s RestoreStore) {
	ctx := t.Context()
	f := newRestoreFixture()
	restoreAll(t, s, f)
	// A changed copy of a stored record does not replace it.
	again := newRestoreFixture()
	again.stories[0].Title = "Changed"
	again.subscribers[1].Status = newsletter.Confirmed
	again.comments[1].Status = comments.Approved
	again.deliveries[2].State = newsletter.DeliverySent
	again.sources[0].Title = "Changed"
	again.issue.Subject = "Changed"
	restoreAll(t, s, again)

	if st, err := s.Story(ctx, 5); err != nil || st.Title != f.stories[0].Title {
		t.Errorf("story 5 after a second restore: %q, %v", st.Title, err)
	}
	if src, err := s.Source(ctx, 3); err != nil || src.Title != "A" {
		t.Errorf("source 3 after a second restore: %q, %v", src.Title, err)
	}
	if is, err := s.Issue(ctx, f.issue.Week); err != nil || is.Subject != f.issue.Subject {
		t.Errorf("issue after a second restore: %q, %v", is.Subject, err)
	}
	counts, err := s.CountSubscribers(ctx)
	if err != nil || counts[newsletter.Pending] != 1 || counts[newsletter.Confirmed] != 2 {
		t.Errorf("CountSubscribers after a second restore = %v, %v", counts, err)
	}
	dc, err := s.CountDeliveries(ctx, f.issue.Week)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "delivery counts after a second restore", dc, newsletter.DeliveryCounts{Pending: 2, Sent: 1, Failed: 1})
	if approved, err := s.CountApproved(ctx, []int64{5}); err != nil || approved[5] != 1 {
		t.Errorf("CountApproved after a second restore = %v, %v", approved, err)
	}
	if n, err := s.CountStories(ctx, feeds.StoryFilter{}); err != nil || n != 3 {
		t.Errorf("CountStories after a second restore = %d, %v", n, err)
	}
	res, err := s.Search(ctx, feeds.SearchQuery{Text: "usernames"})
	if err != nil || res.Total != 2 {
		t.Errorf("search after a second restore: %d, %v", res.Total, err)
	}
	if n, err := s.CountRecent(ctx, "ip-2", base); err != nil || n != 1 {
		t.Errorf("CountRecent after a second restore = %d, %v", n, err)
	}
}

// New records get IDs above every restored one and above the counters.
func testRestoreIDsContinue(t *testing.T, s RestoreStore) {
	ctx := t.Context()
	restoreAll(t, s, newRestoreFixture())
	got, err := s.IDCounters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, least := range map[string]int64{"sources": 7, "stories": 12, "subscribers": 14, "comments": 9} {
		if got[name] < least {
			t.Errorf("IDCounters[%s] = %d after restoring ID %d", name, got[name], least)
		}
	}
	if err := s.RaiseIDCounters(ctx, map[string]int64{"stories": 40, "comments": 50, "sources": 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.RaiseIDCounters(ctx, map[string]int64{"unknown": 1}); err == nil {
		t.Error("RaiseIDCounters accepted an unknown counter")
	}
	src := mustAddSource(t, s, feeds.Source{URL: "https://new.example/feed"})
	st := mustAddStory(t, s, feeds.Story{SourceID: src.ID, URL: "https://new.example/1", PublishedAt: base})
	sub, _, err := s.AddSubscriber(ctx, newsletter.Subscriber{Index: "idx-new", Sealed: []byte{1}, Status: newsletter.Pending})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.AddComment(ctx, comments.Comment{StoryID: st.ID, Depth: 1, Author: "a", Body: "b", Status: comments.Pending})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what     string
		id, over int64
	}{{"source", src.ID, 7}, {"story", st.ID, 40}, {"subscriber", sub.ID, 14}, {"comment", c.ID, 50}} {
		if c.id <= c.over {
			t.Errorf("a new %s got ID %d, want above %d", c.what, c.id, c.over)
		}
	}
	got, err = s.IDCounters(ctx)
	if err != nil || got["stories"] != st.ID {
		t.Errorf("IDCounters[stories] = %d, %v; want %d", got["stories"], err, st.ID)
	}
}

// A free ID whose unique key another record holds is refused.
func testRestoreConflicts(t *testing.T, s RestoreStore) {
	ctx := t.Context()
	restoreAll(t, s, newRestoreFixture())
	if err := s.RestoreSources(ctx, []feeds.Source{{ID: 20, URL: "https://a.example/feed"}}); err == nil {
		t.Error("restoring a source under another source's URL succeeded")
	}
	if err := s.RestoreStories(ctx, []feeds.Story{{ID: 21, SourceID: 3, URL: "https://a.example/5", PublishedAt: base}}); err == nil {
		t.Error("restoring a story under another story's URL succeeded")
	}
	if err := s.RestoreSubscribers(ctx, []newsletter.Subscriber{{ID: 22, Index: "idx-2", Status: newsletter.Pending}}); err == nil {
		t.Error("restoring a subscriber under another subscriber's index succeeded")
	}
	if _, err := s.Story(ctx, 21); err == nil {
		t.Error("the refused story was stored")
	}
	if _, err := s.Subscriber(ctx, 22); err == nil {
		t.Error("the refused subscriber was stored")
	}
}

// EachDelivery hands out every record once, over several pages.
func testEachDeliveryPages(t *testing.T, s RestoreStore) {
	ctx := t.Context()
	const n = 2500
	if err := s.RestoreIssue(ctx, newsletter.Issue{Week: "2026-W11", ComposedAt: base}); err != nil {
		t.Fatal(err)
	}
	ds := make([]newsletter.Delivery, n)
	for i := range ds {
		ds[i] = newsletter.Delivery{Week: "2026-W11", SubscriberID: int64(i + 1), State: newsletter.DeliverySent, SentAt: base}
	}
	if err := s.RestoreDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}
	var seen []int64
	pages := 0
	err := s.EachDelivery(ctx, "2026-W11", func(page []newsletter.Delivery) error {
		pages++
		for _, d := range page {
			seen = append(seen, d.SubscriberID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(seen)
	distinct := len(slices.Compact(slices.Clone(seen)))
	if len(seen) != n || distinct != n || pages < 2 {
		t.Errorf("EachDelivery: %d records (%d distinct) in %d pages; want %d once each over several pages",
			len(seen), distinct, pages, n)
	}
	if c, err := s.CountDeliveries(ctx, "2026-W11"); err != nil || c.Sent != n {
		t.Errorf("CountDeliveries = %+v, %v", c, err)
	}
	if err := s.EachDelivery(ctx, "2026-W12", func([]newsletter.Delivery) error {
		t.Error("EachDelivery of a week without deliveries called fn")
		return nil
	}); err != nil {
		t.Error(err)
	}
}
