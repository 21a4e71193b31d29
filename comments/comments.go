// Package comments owns the discussion under each story: submission and its
// validation, spam defence, the moderation state machine, plain-text
// rendering, locally drawn avatars, reply notifications, and the storage
// contract every store implements for them.
//
// A commenter's email address is never shown and never stored in plain text:
// a Comment carries it sealed (AES-256-GCM, package secrets) with a blind
// index for look-ups, exactly as the newsletter does.
package comments

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors every Store returns (wrapped) so callers can tell cases apart.
var (
	// ErrNotFound means no comment has the given ID.
	ErrNotFound = errors.New("comments: not found")
	// ErrConflict means a status change lost a race: the comment's status
	// was no longer the one the change started from.
	ErrConflict = errors.New("comments: the comment was changed meanwhile")
)

// Status is where a comment stands in moderation.
type Status string

// The statuses of a comment. Only Approved comments are public.
const (
	// Pending: held for moderation; shown only to its author (marked
	// "awaiting moderation") and to moderators.
	Pending Status = "pending"
	// Approved: published.
	Approved Status = "approved"
	// Spam: judged spam by the rules or a moderator; never shown.
	Spam Status = "spam"
	// Rejected: turned down by a moderator; never shown.
	Rejected Status = "rejected"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Pending, Approved, Spam, Rejected:
		return true
	}
	return false
}

// CheckStorable refuses what no stored comment may hold; every store calls
// it before writing one.
func (c Comment) CheckStorable() error {
	switch {
	case c.StoryID <= 0:
		return fmt.Errorf("story ID %d is not positive", c.StoryID)
	case c.ParentID < 0:
		return fmt.Errorf("parent ID %d is negative", c.ParentID)
	case c.Depth < 1 || c.Depth > MaxDepth:
		return fmt.Errorf("depth %d is not between 1 and %d", c.Depth, MaxDepth)
	case !c.Status.Valid():
		return fmt.Errorf("invalid status %q", c.Status)
	}
	return nil
}

// MaxDepth is how deep replies nest: a reply to a comment at this depth is
// attached at this depth (to its parent's parent) instead.
const MaxDepth = 3

// Comment is one comment under a story.
type Comment struct {
	ID      int64
	StoryID int64
	// ParentID is the comment this one replies to (0: top level). The
	// service sets it so that Depth never exceeds MaxDepth.
	ParentID int64
	Depth    int // 1 for a top-level comment, at most MaxDepth

	Author  string // the name given, at most 100 characters
	Website string // http(s) URL or empty
	Body    string // plain text as typed, at most 5,000 characters

	// EmailIndex is the blind index of the lower-cased address (see
	// secrets.Keys.BlindIndex); EmailSealed the address, encrypted.
	EmailIndex  string
	EmailSealed []byte

	Status Status
	// Reason says why a comment was held or judged spam ("first comment",
	// "2 links", "moderation word", "honeypot", …); empty when approved by
	// the rules.
	Reason string

	// IPHash is a keyed hash of the client's address, kept for rate limits
	// and erased after 30 days (ForgetIPs); empty once erased.
	IPHash string
	// NotifyReplies: the author asked to be mailed approved replies.
	NotifyReplies bool

	CreatedAt   time.Time // UTC
	ModeratedAt time.Time // zero until a status change after submission
}

// Filter selects comments. Results are oldest first (ascending ID).
type Filter struct {
	StoryID  int64    // 0: any story
	Statuses []Status // non-empty: only comments in one of these
	IDs      []int64  // non-empty: only these
	AfterID  int64    // only IDs greater than this
	Limit    int      // 0: no limit
}

// Store keeps comments.
type Store interface {
	// AddComment stores a new comment and returns it with its ID set.
	AddComment(ctx context.Context, c Comment) (Comment, error)
	// Comment returns one comment or ErrNotFound.
	Comment(ctx context.Context, id int64) (Comment, error)
	// Comments lists the comments matching f, oldest first.
	Comments(ctx context.Context, f Filter) ([]Comment, error)
	// SetStatus moves a comment from status from to status to, atomically:
	// if its status is no longer from, nothing changes and the error wraps
	// ErrConflict (two moderators acting on one comment). It sets
	// ModeratedAt to at and returns the changed comment. ErrNotFound if
	// absent.
	SetStatus(ctx context.Context, id int64, from, to Status, at time.Time) (Comment, error)
	// SetNotify turns reply notifications for a comment on or off.
	// ErrNotFound if absent.
	SetNotify(ctx context.Context, id int64, notify bool) error
	// DeleteComment erases a comment; its replies stay (and are shown under
	// its parent). ErrNotFound if absent.
	DeleteComment(ctx context.Context, id int64) error
	// CountApproved counts the approved comments of each story in ids;
	// stories without any may be missing from the map.
	CountApproved(ctx context.Context, storyIDs []int64) (map[int64]int, error)
	// HasApproved reports whether an approved comment exists by the author
	// name (exactly as stored) with that email index: a returning commenter.
	HasApproved(ctx context.Context, emailIndex, author string) (bool, error)
	// CountRecent counts the comments stored since t from the client with
	// that IP hash, whatever their status (for rate limits).
	CountRecent(ctx context.Context, ipHash string, since time.Time) (int, error)
	// ForgetIPs erases the IP hash of every comment created before t and
	// returns how many it changed.
	ForgetIPs(ctx context.Context, before time.Time) (int, error)
}
