package comments

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/ratelimit"
)

// Limits on the fields of a comment, in characters.
const (
	MaxAuthor  = 100
	MaxWebsite = 200
	MaxBody    = 5000
)

// Submission is a comment form as sent by a reader.
type Submission struct {
	StoryID int64
	// Story, when the caller has already read story StoryID, saves Submit
	// reading it again; a story that is not StoryID's is ignored.
	Story    *feeds.Story
	ParentID int64 // the comment replied to; 0: a top-level comment
	Author   string
	Email    string
	Website  string // optional
	Body     string
	Notify   bool // mail me approved replies
	// Honeypot is the hidden field people never fill.
	Honeypot string
	// FormTime is when the form was served (from its signed stamp); a zero
	// FormTime counts as a form sent back too fast.
	FormTime time.Time
	IP       string // the client's address; only a keyed hash of it is kept
}

// Submit validates a comment, applies the rules and stores it as approved,
// pending or spam, then mails the moderator about a held comment or the
// parent's author about an approved reply (a failed mail is logged, never
// an error). The comment returned carries its status: views show a pending
// or spam comment to its author only, as awaiting moderation.
//
// Errors: ErrNotFound when the story does not exist or is not shown; a
// *FormError naming each field refused (a reply to a comment that is not
// approved, or not under this story, is refused on the field "parent"); and
// ErrRateLimited when the client sent a comment within RateInterval or
// RateHourly within an hour.
func (s *Service) Submit(ctx context.Context, sub Submission) (c Comment, err error) {
	defer func() { s.o.Metrics.submitted(c, err) }()
	story, err := s.storyOf(ctx, sub)
	if err != nil {
		return Comment{}, err
	}
	c, addr, fe := validate(sub)
	if err := s.placeReply(ctx, &c, sub, fe); err != nil {
		return Comment{}, err
	}
	if len(fe.Fields) > 0 {
		return Comment{}, fe
	}
	now := s.now()
	c.StoryID = sub.StoryID
	c.EmailIndex = s.o.Keys.BlindIndex(newsletter.IndexForm(addr))
	c.EmailSealed = s.o.Keys.Seal(addr)
	c.IPHash = s.o.Keys.HashIP(ratelimit.ClientKey(sub.IP))
	c.CreatedAt = now
	if err := s.checkRate(ctx, c.IPHash, now); err != nil {
		return Comment{}, err
	}
	elapsed := time.Duration(0)
	if !sub.FormTime.IsZero() {
		elapsed = now.Sub(sub.FormTime)
	}
	v, err := s.judge(signals{Author: c.Author, Website: c.Website, Body: c.Body, Honeypot: sub.Honeypot, Elapsed: elapsed},
		func() (bool, error) { return s.o.Store.HasApproved(ctx, c.EmailIndex, c.Author) })
	if err != nil {
		return Comment{}, fmt.Errorf("comments: looking up earlier comments: %w", err)
	}
	c.Status, c.Reason = v.Status, v.Reason
	c, err = s.o.Store.AddComment(ctx, c)
	if err != nil {
		return Comment{}, fmt.Errorf("comments: storing: %w", err)
	}
	switch c.Status {
	case Pending:
		s.mailModerator(ctx, story, c)
	case Approved:
		s.notifyReply(ctx, c)
	}
	return c, nil
}

// checkRate refuses a client that commented within RateInterval, or
// RateHourly times within the hour. Two submissions at the same instant may
// both pass: the limit is against floods, not an exact count.
func (s *Service) checkRate(ctx context.Context, ipHash string, now time.Time) error {
	// The hour first: for a client new this hour, one query settles it.
	n, err := s.o.Store.CountRecent(ctx, ipHash, now.Add(-time.Hour))
	if err == nil && n > 0 && n < RateHourly {
		n, err = s.o.Store.CountRecent(ctx, ipHash, now.Add(-RateInterval))
		if n == 0 {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("comments: checking the rate limit: %w", err)
	}
	if n > 0 {
		return ErrRateLimited
	}
	return nil
}

// storyOf is the story a submission goes under: the one the caller read, or
// else read here; either way it must be shown.
func (s *Service) storyOf(ctx context.Context, sub Submission) (feeds.Story, error) {
	if st := sub.Story; st != nil && st.ID == sub.StoryID && sub.StoryID > 0 {
		if !st.Visible {
			return feeds.Story{}, fmt.Errorf("comments: story %d: %w (%w)", st.ID, ErrNotFound, feeds.ErrNotFound)
		}
		return *st, nil
	}
	return s.story(ctx, sub.StoryID)
}

// placeReply sets the comment's ParentID and Depth. A reply must answer an
// approved comment of the same story; one deeper than MaxDepth is attached
// to its parent's parent instead.
func (s *Service) placeReply(ctx context.Context, c *Comment, sub Submission, fe *FormError) error {
	c.Depth = 1
	if sub.ParentID == 0 {
		return nil
	}
	const refused = "The comment you replied to cannot be answered (it may have been removed). Please reply to another comment or post a new one."
	if sub.ParentID < 0 {
		fe.Fields["parent"] = refused
		return nil
	}
	p, err := s.o.Store.Comment(ctx, sub.ParentID)
	switch {
	case errors.Is(err, ErrNotFound):
		fe.Fields["parent"] = refused
		return nil
	case err != nil:
		return fmt.Errorf("comments: reading comment %d: %w", sub.ParentID, err)
	case p.StoryID != sub.StoryID || p.Status != Approved:
		fe.Fields["parent"] = refused
		return nil
	}
	c.ParentID, c.Depth = p.ID, p.Depth+1
	if c.Depth > MaxDepth {
		c.ParentID, c.Depth = p.ParentID, p.Depth
	}
	return nil
}

// validate checks the fields a person typed and returns them cleaned up in
// a Comment, the normalised address apart, and a message for each field
// refused. The returned FormError has a non-nil map, possibly empty.
func validate(sub Submission) (Comment, string, *FormError) {
	fe := &FormError{Fields: map[string]string{}}
	var c Comment
	var msg string
	if c.Author, msg = cleanAuthor(sub.Author); msg != "" {
		fe.Fields["author"] = msg
	}
	addr, err := newsletter.NormaliseAddress(sub.Email)
	if err != nil {
		var ae *newsletter.AddressError
		if errors.As(err, &ae) {
			fe.Fields["email"] = ae.Reason
		} else {
			fe.Fields["email"] = "That address is not valid."
		}
	}
	if c.Website, msg = cleanWebsite(sub.Website); msg != "" {
		fe.Fields["url"] = msg
	}
	if c.Body, msg = cleanBody(sub.Body); msg != "" {
		fe.Fields["comment"] = msg
	}
	c.NotifyReplies = sub.Notify
	return c, addr, fe
}

// cleanAuthor trims a name and checks it; the message is empty when it is
// fine.
func cleanAuthor(raw string) (string, string) {
	name := strings.TrimSpace(raw)
	switch {
	case name == "":
		return "", "Please enter your name."
	case !utf8.ValidString(name):
		return "", "Your name contains characters that are not valid text."
	case utf8.RuneCountInString(name) > MaxAuthor:
		return "", fmt.Sprintf("Your name is too long: it can have at most %d characters.", MaxAuthor)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp) || bidiControl(r) {
			return "", "Your name contains a line break or an invisible control character; please type it again by hand."
		}
	}
	return name, ""
}

// bidiControl reports whether r changes the direction of the text around
// it: the embeddings, overrides and isolates (not the plain marks).
func bidiControl(r rune) bool {
	return '\u202a' <= r && r <= '\u202e' || '\u2066' <= r && r <= '\u2069'
}

// cleanWebsite checks an optional website address. An address typed
// without a scheme ("example.org") gets https://. Only http and https are
// accepted, with a host and without a user name (http://bank.example@evil
// would mislead).
func cleanWebsite(raw string) (string, string) {
	w := strings.TrimSpace(raw)
	if w == "" {
		return "", ""
	}
	const bad = "Please enter the address of a web site, like https://example.org, or leave this field empty."
	switch {
	case !utf8.ValidString(w):
		return "", bad
	case utf8.RuneCountInString(w) > MaxWebsite:
		return "", fmt.Sprintf("That address is too long: it can have at most %d characters.", MaxWebsite)
	}
	for _, r := range w {
		if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune(`<>"\`+"`", r) {
			return "", bad
		}
	}
	if !strings.Contains(w, ":") {
		w = "https://" + w
	}
	u, err := url.Parse(w)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" {
		return "", bad
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", "Only web addresses starting with http:// or https:// are accepted."
	}
	w = scheme + w[len(u.Scheme):]
	if utf8.RuneCountInString(w) > MaxWebsite {
		return "", fmt.Sprintf("That address is too long: it can have at most %d characters.", MaxWebsite)
	}
	return w, ""
}

// cleanBody normalises line ends to "\n", drops control characters other
// than tab and line feed (invisible in a paste, and trouble in HTML), trims
// surrounding white space and checks the length.
func cleanBody(raw string) (string, string) {
	if !utf8.ValidString(raw) {
		return "", "Your comment contains characters that are not valid text."
	}
	body := strings.TrimSpace(stripControls(raw))
	switch n := utf8.RuneCountInString(body); {
	case n == 0:
		return "", "Please write a comment."
	case n > MaxBody:
		return "", fmt.Sprintf("Your comment is too long: it has %d characters, and at most %d are accepted.", n, MaxBody)
	}
	return body, ""
}

// stripControls turns CR LF and lone CR into LF and drops every other
// control character except tab.
func stripControls(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}
