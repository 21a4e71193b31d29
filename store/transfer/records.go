package transfer

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// The records of the file, one type per kind. Field names are the file's
// contract: renaming one is a new Version.

type kindOnly struct {
	Kind string `json:"kind"`
}

type headerRec struct {
	Kind      string    `json:"kind"`
	Format    string    `json:"format"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// KeyCheck is KeyCheckText sealed with the exporting site's key.
	KeyCheck []byte `json:"key_check,omitempty"`
}

type markRec struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

type sourceRec struct {
	Kind         string    `json:"kind"`
	ID           int64     `json:"id"`
	URL          string    `json:"url"`
	Title        string    `json:"title,omitempty"`
	SiteURL      string    `json:"site_url,omitempty"`
	OnTopic      bool      `json:"on_topic,omitempty"`
	Paused       bool      `json:"paused,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	LastModified string    `json:"last_modified,omitempty"`
	LastPolledAt time.Time `json:"last_polled_at,omitzero"`
	NextPollAt   time.Time `json:"next_poll_at,omitzero"`
	LastError    string    `json:"last_error,omitempty"`
	ErrorCount   int       `json:"error_count,omitempty"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
}

type storyRec struct {
	Kind        string          `json:"kind"`
	ID          int64           `json:"id"`
	SourceID    int64           `json:"source_id"`
	GUID        string          `json:"guid,omitempty"`
	URL         string          `json:"url,omitempty"`
	Title       string          `json:"title,omitempty"`
	Summary     string          `json:"summary,omitempty"`
	Content     string          `json:"content,omitempty"`
	Author      string          `json:"author,omitempty"`
	PublishedAt time.Time       `json:"published_at,omitzero"`
	FirstSeenAt time.Time       `json:"first_seen_at,omitzero"`
	Relevance   float64         `json:"relevance,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	Visible     bool            `json:"visible,omitempty"`
	ClusterID   int64           `json:"cluster_id,omitempty"`
	Similar     []feeds.Related `json:"similar,omitempty"`
}

type subscriberRec struct {
	Kind           string    `json:"kind"`
	ID             int64     `json:"id"`
	Index          string    `json:"index"`
	Sealed         []byte    `json:"sealed,omitempty"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
	ConfirmedAt    time.Time `json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero"`
	ConfirmMailAt  time.Time `json:"confirm_mail_at,omitzero"`
	ConsentAt      time.Time `json:"consent_at,omitzero"`
	ConsentPage    string    `json:"consent_page,omitempty"`
	ConsentIP      string    `json:"consent_ip,omitempty"`
	HardFailures   int       `json:"hard_failures,omitempty"`
}

type issueRec struct {
	Kind           string    `json:"kind"`
	Week           string    `json:"week"`
	ComposedAt     time.Time `json:"composed_at,omitzero"`
	Since          time.Time `json:"since,omitzero"`
	Until          time.Time `json:"until,omitzero"`
	Subject        string    `json:"subject,omitempty"`
	StoryIDs       []int64   `json:"story_ids,omitempty"`
	HTML           string    `json:"html,omitempty"`
	Text           string    `json:"text,omitempty"`
	SendStartedAt  time.Time `json:"send_started_at,omitzero"`
	PlannedThrough int64     `json:"planned_through,omitempty"`
	Planned        bool      `json:"planned,omitempty"`
	SentAt         time.Time `json:"sent_at,omitzero"`
}

type deliveryRec struct {
	Kind         string    `json:"kind"`
	Week         string    `json:"week"`
	SubscriberID int64     `json:"subscriber_id"`
	State        string    `json:"state"`
	Attempts     int       `json:"attempts,omitempty"`
	LastError    string    `json:"last_error,omitempty"`
	NotBefore    time.Time `json:"not_before,omitzero"`
	Owner        string    `json:"owner,omitempty"`
	SentAt       time.Time `json:"sent_at,omitzero"`
}

type commentRec struct {
	Kind          string    `json:"kind"`
	ID            int64     `json:"id"`
	StoryID       int64     `json:"story_id"`
	ParentID      int64     `json:"parent_id,omitempty"`
	Depth         int       `json:"depth"`
	Author        string    `json:"author"`
	Website       string    `json:"website,omitempty"`
	Body          string    `json:"body"`
	EmailIndex    string    `json:"email_index,omitempty"`
	EmailSealed   []byte    `json:"email_sealed,omitempty"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	IPHash        string    `json:"ip_hash,omitempty"`
	NotifyReplies bool      `json:"notify_replies,omitempty"`
	CreatedAt     time.Time `json:"created_at,omitzero"`
	ModeratedAt   time.Time `json:"moderated_at,omitzero"`
}

type adminPasswordRec struct {
	Kind string `json:"kind"`
	Hash string `json:"hash"`
}

type countersRec struct {
	Kind     string           `json:"kind"`
	Counters map[string]int64 `json:"counters"`
}

type endRec struct {
	Kind   string `json:"kind"`
	Counts Counts `json:"counts"`
}

// utc is t in UTC; the zero time stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

func fromSource(s feeds.Source) sourceRec {
	return sourceRec{KindSource, s.ID, s.URL, s.Title, s.SiteURL, s.OnTopic, s.Paused, s.ETag,
		s.LastModified, utc(s.LastPolledAt), utc(s.NextPollAt), s.LastError, s.ErrorCount, utc(s.CreatedAt)}
}

func (r sourceRec) source() (feeds.Source, error) {
	switch {
	case r.ID <= 0:
		return feeds.Source{}, fmt.Errorf("source ID %d is not positive", r.ID)
	case r.URL == "":
		return feeds.Source{}, fmt.Errorf("source %d has no URL", r.ID)
	case r.ErrorCount < 0:
		return feeds.Source{}, fmt.Errorf("source %d: negative error count", r.ID)
	}
	return feeds.Source{ID: r.ID, URL: r.URL, Title: r.Title, SiteURL: r.SiteURL, OnTopic: r.OnTopic,
		Paused: r.Paused, ETag: r.ETag, LastModified: r.LastModified, LastPolledAt: r.LastPolledAt,
		NextPollAt: r.NextPollAt, LastError: r.LastError, ErrorCount: r.ErrorCount, CreatedAt: r.CreatedAt}, nil
}

func fromStory(s feeds.Story) storyRec {
	return storyRec{KindStory, s.ID, s.SourceID, s.GUID, s.URL, s.Title, s.Summary, s.Content, s.Author,
		utc(s.PublishedAt), utc(s.FirstSeenAt), s.Relevance, s.Tags, s.Visible, s.ClusterID, s.Similar}
}

func (r storyRec) story() (feeds.Story, error) {
	switch {
	case r.ID <= 0:
		return feeds.Story{}, fmt.Errorf("story ID %d is not positive", r.ID)
	case r.SourceID <= 0:
		return feeds.Story{}, fmt.Errorf("story %d: source ID %d is not positive", r.ID, r.SourceID)
	case r.ClusterID < 0:
		return feeds.Story{}, fmt.Errorf("story %d: negative cluster ID", r.ID)
	case slices.Contains(r.Tags, ""):
		return feeds.Story{}, fmt.Errorf("story %d: an empty tag", r.ID)
	}
	for _, rel := range r.Similar {
		if rel.ID <= 0 {
			return feeds.Story{}, fmt.Errorf("story %d: similar story ID %d is not positive", r.ID, rel.ID)
		}
	}
	return feeds.Story{ID: r.ID, SourceID: r.SourceID, GUID: r.GUID, URL: r.URL, Title: r.Title,
		Summary: r.Summary, Content: r.Content, Author: r.Author, PublishedAt: r.PublishedAt,
		FirstSeenAt: r.FirstSeenAt, Relevance: r.Relevance, Tags: r.Tags, Visible: r.Visible,
		ClusterID: r.ClusterID, Similar: r.Similar}, nil
}

func fromSubscriber(s newsletter.Subscriber) subscriberRec {
	return subscriberRec{KindSubscriber, s.ID, s.Index, s.Sealed, string(s.Status), utc(s.CreatedAt),
		utc(s.ConfirmedAt), utc(s.UnsubscribedAt), utc(s.ConfirmMailAt), utc(s.ConsentAt), s.ConsentPage,
		s.ConsentIP, s.HardFailures}
}

func (r subscriberRec) subscriber() (newsletter.Subscriber, error) {
	switch {
	case r.ID <= 0:
		return newsletter.Subscriber{}, fmt.Errorf("subscriber ID %d is not positive", r.ID)
	case r.Index == "":
		return newsletter.Subscriber{}, fmt.Errorf("subscriber %d has no blind index", r.ID)
	case !newsletter.Status(r.Status).Valid():
		return newsletter.Subscriber{}, fmt.Errorf("subscriber %d: unknown status %q", r.ID, r.Status)
	case r.HardFailures < 0:
		return newsletter.Subscriber{}, fmt.Errorf("subscriber %d: negative hard failures", r.ID)
	}
	return newsletter.Subscriber{ID: r.ID, Index: r.Index, Sealed: r.Sealed, Status: newsletter.Status(r.Status),
		CreatedAt: r.CreatedAt, ConfirmedAt: r.ConfirmedAt, UnsubscribedAt: r.UnsubscribedAt,
		ConfirmMailAt: r.ConfirmMailAt, ConsentAt: r.ConsentAt, ConsentPage: r.ConsentPage,
		ConsentIP: r.ConsentIP, HardFailures: r.HardFailures}, nil
}

func fromIssue(is newsletter.Issue) issueRec {
	return issueRec{KindIssue, is.Week, utc(is.ComposedAt), utc(is.Since), utc(is.Until), is.Subject,
		is.StoryIDs, is.HTML, is.Text, utc(is.SendStartedAt), is.PlannedThrough, is.Planned, utc(is.SentAt)}
}

func (r issueRec) issue() (newsletter.Issue, error) {
	if w, err := newsletter.ParseWeek(r.Week); err != nil || w != r.Week {
		return newsletter.Issue{}, fmt.Errorf("issue week %q is not an ISO week like 2026-W48", r.Week)
	}
	if r.PlannedThrough < 0 {
		return newsletter.Issue{}, fmt.Errorf("issue %s: negative planned_through", r.Week)
	}
	return newsletter.Issue{Week: r.Week, ComposedAt: r.ComposedAt, Since: r.Since, Until: r.Until,
		Subject: r.Subject, StoryIDs: r.StoryIDs, HTML: r.HTML, Text: r.Text, SendStartedAt: r.SendStartedAt,
		PlannedThrough: r.PlannedThrough, Planned: r.Planned, SentAt: r.SentAt}, nil
}

func fromDelivery(d newsletter.Delivery) deliveryRec {
	return deliveryRec{KindDelivery, d.Week, d.SubscriberID, string(d.State), d.Attempts, d.LastError,
		utc(d.NotBefore), d.Owner, utc(d.SentAt)}
}

func (r deliveryRec) delivery() (newsletter.Delivery, error) {
	if !newsletter.DeliveryState(r.State).Valid() {
		return newsletter.Delivery{}, fmt.Errorf("delivery of %s to %d: unknown state %q", r.Week, r.SubscriberID, r.State)
	}
	switch {
	case r.SubscriberID <= 0:
		return newsletter.Delivery{}, fmt.Errorf("delivery of %s: subscriber ID %d is not positive", r.Week, r.SubscriberID)
	case r.Attempts < 0:
		return newsletter.Delivery{}, fmt.Errorf("delivery of %s to %d: negative attempts", r.Week, r.SubscriberID)
	}
	return newsletter.Delivery{Week: r.Week, SubscriberID: r.SubscriberID, State: newsletter.DeliveryState(r.State),
		Attempts: r.Attempts, LastError: r.LastError, NotBefore: r.NotBefore, Owner: r.Owner, SentAt: r.SentAt}, nil
}

func fromComment(c comments.Comment) commentRec {
	return commentRec{KindComment, c.ID, c.StoryID, c.ParentID, c.Depth, c.Author, c.Website, c.Body,
		c.EmailIndex, c.EmailSealed, string(c.Status), c.Reason, c.IPHash, c.NotifyReplies,
		utc(c.CreatedAt), utc(c.ModeratedAt)}
}

func (r commentRec) comment() (comments.Comment, error) {
	switch {
	case r.ID <= 0:
		return comments.Comment{}, fmt.Errorf("comment ID %d is not positive", r.ID)
	case r.StoryID <= 0:
		return comments.Comment{}, fmt.Errorf("comment %d: story ID %d is not positive", r.ID, r.StoryID)
	case r.ParentID < 0 || r.ParentID == r.ID:
		return comments.Comment{}, fmt.Errorf("comment %d: bad parent ID %d", r.ID, r.ParentID)
	case r.Depth < 1 || r.Depth > comments.MaxDepth:
		return comments.Comment{}, fmt.Errorf("comment %d: depth %d is not between 1 and %d", r.ID, r.Depth, comments.MaxDepth)
	case !comments.Status(r.Status).Valid():
		return comments.Comment{}, fmt.Errorf("comment %d: unknown status %q", r.ID, r.Status)
	}
	return comments.Comment{ID: r.ID, StoryID: r.StoryID, ParentID: r.ParentID, Depth: r.Depth,
		Author: r.Author, Website: r.Website, Body: r.Body, EmailIndex: r.EmailIndex,
		EmailSealed: r.EmailSealed, Status: comments.Status(r.Status), Reason: r.Reason, IPHash: r.IPHash,
		NotifyReplies: r.NotifyReplies, CreatedAt: r.CreatedAt, ModeratedAt: r.ModeratedAt}, nil
}

func (r countersRec) check() error {
	for name, v := range r.Counters {
		if !slices.Contains(counterNames, name) {
			return fmt.Errorf("unknown ID counter %q", name)
		}
		if v < 0 {
			return fmt.Errorf("ID counter %s is negative", name)
		}
	}
	return nil
}

func (r adminPasswordRec) check() error {
	if r.Hash == "" {
		return errors.New("the admin password hash is empty")
	}
	return nil
}
