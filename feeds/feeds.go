// Package feeds owns the news sources and the stories found in them: polling,
// parsing, cleaning, classifying and relating stories, and the storage contract
// every store implements for them.
package feeds

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Errors every Store returns (wrapped) so callers can tell cases apart.
var (
	// ErrNotFound means no source or story has the given ID.
	ErrNotFound = errors.New("feeds: not found")
	// ErrExists means a source with the same URL is already stored.
	ErrExists = errors.New("feeds: already exists")
	// ErrUnavailable means the store could not be reached or did not answer
	// in time; the same call may succeed a moment later. Stores wrap it for
	// every domain's calls, since this is the package they all import.
	ErrUnavailable = errors.New("feeds: the store cannot be reached")
)

// Source is a feed that is polled for stories.
type Source struct {
	ID      int64
	URL     string // the feed's URL, as given (after canonicalisation)
	Title   string // the feed's own title, filled after the first poll
	SiteURL string // the site the feed belongs to
	// OnTopic marks a source whose every story is about privacy: its stories are
	// shown whatever their relevance score.
	OnTopic bool
	Paused  bool

	// Poll state.
	ETag         string
	LastModified string
	LastPolledAt time.Time // zero: never polled
	NextPollAt   time.Time // zero: due at once
	LastError    string    // empty after a successful poll
	ErrorCount   int       // consecutive failed polls, drives back-off
	CreatedAt    time.Time
}

// Story is one article found in a source, cleaned and classified.
type Story struct {
	ID       int64
	SourceID int64
	// GUID is the item's identifier in its feed, namespaced so that it is unique
	// across feeds (see DedupeKeys).
	GUID        string
	URL         string // canonical URL of the original article
	Title       string
	Summary     string // plain text, at most about 400 characters
	Content     string // sanitised HTML
	Author      string
	PublishedAt time.Time // UTC; a missing date is the first-seen time, never in the future
	FirstSeenAt time.Time // UTC

	Relevance float64  // privacy relevance, 0..1
	Tags      []string // topic tags, sorted, e.g. "encryption", "surveillance"
	// Visible is true when the story is shown on the site: its relevance reached
	// the threshold or its source is wholly on-topic.
	Visible bool
	// ClusterID is the ID of the first story of the same event from another
	// outlet ("also covered by"), or 0 when this story leads its own cluster.
	ClusterID int64
	// Similar lists up to five related stories, most similar first.
	Similar []Related
}

// Related is a link from one story to a similar one.
type Related struct {
	ID    int64   `json:"id"`
	Score float64 `json:"score"` // cosine similarity plus a bonus for shared tags; higher is closer
}

// NormaliseTags sorts tags and drops empty and repeated ones; no tags is nil.
// Stores keep tags in this form.
func NormaliseTags(tags []string) []string {
	out := slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return t == "" })
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return nil
	}
	return out
}

// DedupeKeys are the keys under which a story is unique across all sources: its
// canonical URL and its GUID. A store refuses a second story sharing any key.
func (s Story) DedupeKeys() []string {
	keys := make([]string, 0, 2)
	if s.URL != "" {
		keys = append(keys, "url:"+s.URL)
	}
	if s.GUID != "" {
		keys = append(keys, "guid:"+s.GUID)
	}
	return keys
}

// Added is the outcome of storing one story with AddStories.
type Added struct {
	Story   Story // as stored: the new story, or the one already holding its key
	Created bool
}

// SourceFilter selects sources; the zero value selects all of them.
type SourceFilter struct {
	// DueBy, when set, keeps only unpaused sources whose NextPollAt is at or
	// before it.
	DueBy time.Time
}

// StoryFilter selects stories; results are ordered newest PublishedAt first,
// then by ID descending.
type StoryFilter struct {
	VisibleOnly bool
	// LeadersOnly drops stories that belong to another story's cluster.
	LeadersOnly bool
	SourceID    int64  // 0: any source
	Tag         string // "": any tag
	ClusterID   int64  // 0: any; otherwise stories whose ClusterID is this
	// ClusterIDs, when not nil, keeps the stories whose ClusterID is one of
	// these: the followers of several leaders in one read.
	ClusterIDs []int64
	IDs        []int64 // nil: any; otherwise only these
	Since      time.Time
	Limit      int // 0: no limit
	Offset     int
}

// Store keeps sources and stories. Every store (SQLite, Redis, Redis Cluster)
// implements it and passes the conformance suite in store/storetest.
type Store interface {
	// AddSource stores a new source and returns it with its ID and CreatedAt set.
	// A source with the same URL already stored yields ErrExists and that source.
	AddSource(ctx context.Context, src Source) (Source, error)
	// Source returns one source or ErrNotFound.
	Source(ctx context.Context, id int64) (Source, error)
	// Sources lists sources by ascending ID.
	Sources(ctx context.Context, f SourceFilter) ([]Source, error)
	// UpdateSource overwrites a stored source's fields (all but ID and CreatedAt).
	UpdateSource(ctx context.Context, src Source) error
	// RemoveSource deletes a source; its stories stay. ErrNotFound if absent.
	RemoveSource(ctx context.Context, id int64) error
	// ClaimDue takes up to limit (≤ 0: every one) unpaused sources whose
	// NextPollAt is at or before now, earliest due first as far as the store
	// can tell, and in the same atomic step moves their NextPollAt to
	// now+lease, so that other pollers sharing the store (other processes)
	// skip them until the poll's result is recorded with UpdateSource or the
	// lease runs out. Two calls never claim one source while its lease runs.
	// It returns the sources as they were before the claim.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Source, error)

	// AddStory stores a story unless one with any of its DedupeKeys exists. It
	// returns the stored story (with ID set) and whether it was created now. It
	// is atomic: two concurrent calls with a shared key create one story.
	AddStory(ctx context.Context, st Story) (Story, bool, error)
	// AddStories is AddStory for several stories in order, in as few writes as
	// the store allows (a poll stores a feed's items together). A story sharing
	// a key with an earlier one in sts, or with a stored one, is not created.
	// It returns one result per story, in the order of sts.
	AddStories(ctx context.Context, sts []Story) ([]Added, error)
	// Story returns one story or ErrNotFound.
	Story(ctx context.Context, id int64) (Story, error)
	// Stories lists stories matching f.
	Stories(ctx context.Context, f StoryFilter) ([]Story, error)
	// CountStories counts the stories matching f, ignoring Limit and Offset.
	CountStories(ctx context.Context, f StoryFilter) (int, error)
	// SetSimilar replaces a story's Similar list. ErrNotFound if absent.
	SetSimilar(ctx context.Context, id int64, similar []Related) error
	// SetSimilarMany replaces the Similar lists of several stories at once;
	// IDs that are not stored are skipped.
	SetSimilarMany(ctx context.Context, lists map[int64][]Related) error

	// Search finds the visible stories whose title or summary match q.Text,
	// best match first (the rules are in search.go). A query that cannot be
	// run yields an error matching ErrBadQuery; nothing else about the text
	// (quotes, operators, SQL) is ever an error.
	Search(ctx context.Context, q SearchQuery) (SearchResult, error)

	// MarkOnce records that the named one-time step happened and reports whether
	// this call was the first to do so (e.g. loading the built-in feed list).
	MarkOnce(ctx context.Context, name string) (bool, error)
}
