package storetest

import (
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// restoreFixture is a little of everything, with gaps in the IDs.
type restoreFixture struct {
	sources     []feeds.Source
	stories     []feeds.Story
	subscribers []newsletter.Subscriber
	issue       newsletter.Issue
	deliveries  []newsletter.Delivery
	comments    []comments.Comment
}

func newRestoreFixture() restoreFixture {
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	var f restoreFixture
	f.sources = []feeds.Source{
		{ID: 3, URL: "https://a.example/feed", Title: "A", SiteURL: "https://a.example/", OnTopic: true,
			ETag: `"e1"`, LastModified: "Mon, 02 Mar 2026 09:00:00 GMT", LastPolledAt: at(1), NextPollAt: at(2),
			CreatedAt: at(0)},
		{ID: 7, URL: "https://b.example/rss", Paused: true, LastError: "HTTP 500", ErrorCount: 2, CreatedAt: at(0)},
	}
	f.stories = []feeds.Story{
		{ID: 5, SourceID: 3, GUID: "a:5", URL: "https://a.example/5", Title: "Encrypted messenger adds usernames",
			Summary: "Phone numbers stay private.", Content: "<p>x</p>", Author: "Ann", PublishedAt: at(3),
			FirstSeenAt: at(4), Relevance: 0.875, Tags: []string{"encryption", "messaging"}, Visible: true,
			Similar: []feeds.Related{{ID: 12, Score: 0.5}}},
		{ID: 9, SourceID: 7, URL: "https://b.example/9", Title: "Chip maker earnings", PublishedAt: at(5),
			FirstSeenAt: at(5), Relevance: 0.01},
		{ID: 12, SourceID: 3, GUID: "a:12", URL: "https://a.example/12", Title: "Messenger usernames explained",
			Summary: "Usernames instead of phone numbers.", PublishedAt: at(6), FirstSeenAt: at(6),
			Relevance: 0.7, Tags: []string{"messaging"}, Visible: true, ClusterID: 5,
			Similar: []feeds.Related{{ID: 5, Score: 0.5}}},
	}
	f.subscribers = []newsletter.Subscriber{
		{ID: 2, Index: "idx-2", Sealed: []byte{1, 2, 3}, Status: newsletter.Confirmed, CreatedAt: at(0),
			ConfirmedAt: at(1), ConfirmMailAt: at(0), ConsentAt: at(1), ConsentPage: "/", ConsentIP: "iphash"},
		{ID: 10, Index: "idx-10", Sealed: []byte{4, 5}, Status: newsletter.Pending, CreatedAt: at(2),
			ConfirmMailAt: at(2)},
		{ID: 11, Index: "idx-11", Sealed: []byte{6}, Status: newsletter.Bounced, CreatedAt: at(2), HardFailures: 3},
		{ID: 14, Index: "idx-14", Sealed: []byte{7}, Status: newsletter.Confirmed, CreatedAt: at(2), ConfirmedAt: at(3)},
	}
	f.issue = newsletter.Issue{Week: "2026-W10", ComposedAt: at(7), Since: at(-161), Until: at(7),
		Subject: "This week", StoryIDs: []int64{12, 5}, HTML: "<p>h</p>", Text: "t",
		SendStartedAt: at(8), PlannedThrough: 14, Planned: true}
	f.deliveries = []newsletter.Delivery{
		{Week: "2026-W10", SubscriberID: 2, State: newsletter.DeliverySent, Attempts: 1, SentAt: at(8)},
		{Week: "2026-W10", SubscriberID: 11, State: newsletter.DeliveryFailed, Attempts: 3, LastError: "550 no"},
		{Week: "2026-W10", SubscriberID: 14, State: newsletter.DeliveryPending},
		{Week: "2026-W10", SubscriberID: 15, State: newsletter.DeliveryPending, Attempts: 1,
			LastError: "421 later", NotBefore: at(1000), Owner: "proc-1"},
	}
	f.comments = []comments.Comment{
		{ID: 4, StoryID: 5, Depth: 1, Author: "Ann", Body: "First", EmailIndex: "ci-1", EmailSealed: []byte{9},
			Status: comments.Approved, IPHash: "ip-1", NotifyReplies: true, CreatedAt: at(4)},
		{ID: 8, StoryID: 5, ParentID: 4, Depth: 2, Author: "Bob", Website: "https://bob.example/", Body: "Reply",
			EmailIndex: "ci-2", EmailSealed: []byte{8}, Status: comments.Pending, Reason: "first comment",
			IPHash: "ip-2", CreatedAt: at(5)},
		{ID: 9, StoryID: 12, Depth: 1, Author: "Spammer", Body: "buy", EmailIndex: "ci-3", EmailSealed: []byte{7},
			Status: comments.Spam, Reason: "honeypot", CreatedAt: at(6), ModeratedAt: at(7)},
	}
	return f
}

func restoreAll(t *testing.T, s RestoreStore, f restoreFixture) {
	t.Helper()
	ctx := t.Context()
	for _, err := range []error{
		s.RestoreSources(ctx, f.sources),
		s.RestoreStories(ctx, f.stories),
		s.RestoreSubscribers(ctx, f.subscribers),
		s.RestoreIssue(ctx, f.issue),
		s.RestoreDeliveries(ctx, f.deliveries),
		s.RestoreComments(ctx, f.comments),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}
