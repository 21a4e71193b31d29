package comments

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
)

// Errors of the service, besides the store's ErrNotFound and ErrConflict.
var (
	// ErrRateLimited means the client sent comments too quickly: at most
	// one per RateInterval and RateHourly per hour from one address.
	ErrRateLimited = errors.New("comments: you are commenting too quickly; please wait a moment and send the form again")
	// ErrBadToken means a "stop mailing me replies" link is forged, damaged
	// or meant for something else.
	ErrBadToken = errors.New("comments: this link is not valid")
)

// Rules of submission and privacy.
const (
	// MinFormTime is the least time between serving the form and getting it
	// back; anything quicker is a robot, and its comment is judged spam.
	MinFormTime = 3 * time.Second
	// RateInterval is the least time between two comments from one client.
	RateInterval = 15 * time.Second
	// RateHourly is the most comments one client may send in an hour.
	RateHourly = 10
	// IPRetention is how long the keyed hash of a client's address is kept.
	IPRetention = 30 * 24 * time.Hour
	// OwnValidity is how long the cookie listing a visitor's held comments
	// lasts, and OwnMax how many IDs it keeps (the latest).
	OwnValidity = 30 * 24 * time.Hour
	OwnMax      = 20
)

// Token purposes, so a token made for one use never works for another.
const (
	purposeNotify = "comment-notify"
	purposeOwn    = "comment-own"
)

// FormError says which fields of a comment form were refused, and why.
// Fields maps a form field ("author", "email", "url", "comment", "parent")
// to a message written for the person who filled the form, so a page can
// show the form again with each message next to its field.
type FormError struct {
	Fields map[string]string
}

// Error lists the fields and their messages, in a fixed order.
func (e *FormError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for name := range e.Fields {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("comments: the form was refused:")
	for i, name := range names {
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s: %s", name, e.Fields[name])
	}
	return b.String()
}

// Options are what the comments service needs from the rest of the program.
type Options struct {
	Store Store
	// Stories tells whether a story exists and is shown; comments are taken
	// only under visible stories.
	Stories feeds.Store
	Keys    *secrets.Keys
	Mail    mail.Transport
	// SiteName names the site in mails; default "Tidings".
	SiteName string
	// BaseURL is the site's public address, for links in mails; default
	// http://localhost:8080.
	BaseURL string
	// From is the sender of every mail, "Name <addr>" or "addr"; default
	// "<SiteName> <comments@host of BaseURL>".
	From string
	// Moderator is the address mailed about each held comment; empty: none.
	Moderator string
	// ModerationWords hold a comment that contains one of them;
	// BlockWords make it spam. Each entry is a word or a phrase, matched
	// whole and ignoring case in the name, website and text.
	ModerationWords, BlockWords []string
	Logger                      *slog.Logger
	// Metrics counts submissions by outcome and moderation actions; nil
	// counts nothing.
	Metrics *Metrics
	// Now is the clock; default time.Now. Tests set it.
	Now func() time.Time
}

// Service is the comments service: submission, moderation, threads and the
// mails about them. It is safe for concurrent use.
type Service struct {
	o         Options
	base      string // BaseURL without a trailing slash
	msgHost   string // domain part of Message-IDs
	envelope  string // bare address of From
	moderate  wordList
	block     wordList
	moderator string // normalised Moderator
}

// NewService checks o and returns the service.
func NewService(o Options) (*Service, error) {
	if o.Store == nil || o.Stories == nil || o.Keys == nil || o.Mail == nil {
		return nil, errors.New("comments: Store, Stories, Keys and Mail are required")
	}
	if o.SiteName == "" {
		o.SiteName = "Tidings"
	}
	if o.BaseURL == "" {
		o.BaseURL = "http://localhost:8080"
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("comments: base URL %q: want http(s)://host", o.BaseURL)
	}
	if o.From == "" {
		o.From = fmt.Sprintf("%s <comments@%s>", o.SiteName, u.Hostname())
	}
	from, err := netmail.ParseAddress(o.From)
	if err != nil {
		return nil, fmt.Errorf("comments: sender %q: %w", o.From, err)
	}
	s := &Service{
		o:        o,
		base:     strings.TrimRight(o.BaseURL, "/"),
		msgHost:  u.Hostname(),
		envelope: from.Address,
		moderate: newWordList(o.ModerationWords),
		block:    newWordList(o.BlockWords),
	}
	if o.Moderator != "" {
		if s.moderator, err = newsletter.NormaliseAddress(o.Moderator); err != nil {
			return nil, fmt.Errorf("comments: moderator address %q: %w", o.Moderator, err)
		}
	}
	if s.o.Logger == nil {
		s.o.Logger = slog.New(slog.DiscardHandler)
	}
	if s.o.Now == nil {
		s.o.Now = time.Now
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

// Approve publishes a comment that is pending, spam or rejected, and mails
// the author of the comment it replies to if they asked for it. Approving an
// approved comment changes nothing and mails nobody. If another moderator
// changed the comment meanwhile, the error wraps ErrConflict.
func (s *Service) Approve(ctx context.Context, id int64) (Comment, error) {
	c, changed, err := s.move(ctx, id, Approved)
	if err != nil || !changed {
		return c, err
	}
	s.notifyReply(ctx, c)
	return c, nil
}

// Reject turns a comment down: it is shown to nobody. Rejecting a rejected
// comment changes nothing.
func (s *Service) Reject(ctx context.Context, id int64) (Comment, error) {
	c, _, err := s.move(ctx, id, Rejected)
	return c, err
}

// MarkSpam marks a comment as spam: it is shown to nobody.
func (s *Service) MarkSpam(ctx context.Context, id int64) (Comment, error) {
	c, _, err := s.move(ctx, id, Spam)
	return c, err
}

// move sets a comment's status to to from whatever it is now, and reports
// whether it changed.
func (s *Service) move(ctx context.Context, id int64, to Status) (Comment, bool, error) {
	c, err := s.o.Store.Comment(ctx, id)
	if err != nil {
		return Comment{}, false, fmt.Errorf("comments: comment %d: %w", id, err)
	}
	if c.Status == to {
		return c, false, nil
	}
	c, err = s.o.Store.SetStatus(ctx, id, c.Status, to, s.now())
	if err != nil {
		return Comment{}, false, fmt.Errorf("comments: comment %d to %s: %w", id, to, err)
	}
	s.o.Metrics.moderatedTo(to)
	return c, true, nil
}

// Delete erases a comment. Its replies stay; pages show them under the
// nearest ancestor still shown, or at the top level.
func (s *Service) Delete(ctx context.Context, id int64) error {
	if err := s.o.Store.DeleteComment(ctx, id); err != nil {
		return fmt.Errorf("comments: deleting comment %d: %w", id, err)
	}
	s.o.Metrics.moderated(actionDelete)
	return nil
}

// Comment returns one comment, whatever its status, for moderators.
func (s *Service) Comment(ctx context.Context, id int64) (Comment, error) {
	c, err := s.o.Store.Comment(ctx, id)
	if err != nil {
		return Comment{}, fmt.Errorf("comments: comment %d: %w", id, err)
	}
	return c, nil
}

// Pending lists the comments awaiting moderation, oldest first: the
// moderation queue. Comments judged spam are not in it (see List).
func (s *Service) Pending(ctx context.Context) ([]Comment, error) {
	return s.List(ctx, Filter{Statuses: []Status{Pending}})
}

// List lists the comments matching f, oldest first, for moderators (for
// instance the spam folder: Filter{Statuses: []Status{Spam}}).
func (s *Service) List(ctx context.Context, f Filter) ([]Comment, error) {
	cs, err := s.o.Store.Comments(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("comments: listing: %w", err)
	}
	return cs, nil
}

// CommentCounts counts the approved comments of each story; stories without
// any may be missing from the map. It satisfies newsletter.CommentCounter.
func (s *Service) CommentCounts(ctx context.Context, storyIDs []int64) (map[int64]int, error) {
	n, err := s.o.Store.CountApproved(ctx, storyIDs)
	if err != nil {
		return nil, fmt.Errorf("comments: counting: %w", err)
	}
	return n, nil
}

// ForgetIPs erases the client address hashes older than IPRetention and
// returns how many it erased.
func (s *Service) ForgetIPs(ctx context.Context) (int, error) {
	n, err := s.o.Store.ForgetIPs(ctx, s.now().Add(-IPRetention))
	if err != nil {
		return n, fmt.Errorf("comments: erasing address hashes: %w", err)
	}
	return n, nil
}

// story returns the story a comment belongs under, or an error wrapping
// both ErrNotFound and feeds.ErrNotFound when it is absent or hidden.
func (s *Service) story(ctx context.Context, id int64) (feeds.Story, error) {
	if id <= 0 {
		return feeds.Story{}, fmt.Errorf("comments: story %d: %w (%w)", id, ErrNotFound, feeds.ErrNotFound)
	}
	st, err := s.o.Stories.Story(ctx, id)
	if errors.Is(err, feeds.ErrNotFound) || (err == nil && !st.Visible) {
		return feeds.Story{}, fmt.Errorf("comments: story %d: %w (%w)", id, ErrNotFound, feeds.ErrNotFound)
	}
	if err != nil {
		return feeds.Story{}, fmt.Errorf("comments: story %d: %w", id, err)
	}
	return st, nil
}
