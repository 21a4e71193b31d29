package newsletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/ratelimit"
	"github.com/tidings/tidings/secrets"
)

// Options are what the newsletter service needs from the rest of the program.
type Options struct {
	Store   Store
	Stories feeds.Store // the stories issues are made of
	Keys    *secrets.Keys
	Mail    mail.Transport
	// SiteName names the site in subjects and mails; default "Tidings".
	SiteName string
	// BaseURL is the site's public address, for links in mails; default
	// http://localhost:8080.
	BaseURL string
	// From is the sender of every mail, "Name <addr>" or "addr"; default
	// "<SiteName> <newsletter@host of BaseURL>".
	From string
	// Comments counts approved comments for ranking stories (optional).
	Comments CommentCounter
	// SignupsPerHour bounds the sign-ups one client (an IPv4 address or an
	// IPv6 /64) may make in an hour, so that nobody can have the site mail
	// confirmations to a list of strangers; default DefaultSignupsPerHour,
	// negative: no limit. Counted in this process's memory.
	SignupsPerHour int
	Logger         *slog.Logger
	// Now is the clock; default time.Now. Tests set it.
	Now func() time.Time
}

// Service is the newsletter: sign-ups, confirmations, unsubscribes, issues
// and their delivery.
type Service struct {
	o       Options
	base    string // BaseURL without a trailing slash
	msgHost string // domain part of Message-IDs
	signups *ratelimit.Window
}

// Timing rules of the double opt-in.
const (
	// ConfirmValidity is how long a confirmation link works.
	ConfirmValidity = 48 * time.Hour
	// ConfirmMailInterval is the least time between two confirmation mails
	// to one pending address.
	ConfirmMailInterval = 10 * time.Minute
	// PendingLifetime is how long an unconfirmed sign-up is kept.
	PendingLifetime = 7 * 24 * time.Hour
	// DefaultSignupsPerHour is Options.SignupsPerHour's default.
	DefaultSignupsPerHour = 10
)

// Token purposes, so a token made for one use never works for another.
const (
	purposeConfirm     = "confirm"
	purposeUnsubscribe = "unsubscribe"
)

// NewService checks o and returns the service.
func NewService(o Options) (*Service, error) {
	if o.Store == nil || o.Keys == nil || o.Mail == nil {
		return nil, errors.New("newsletter: Store, Keys and Mail are required")
	}
	if o.SiteName == "" {
		o.SiteName = "Tidings"
	}
	if o.BaseURL == "" {
		o.BaseURL = "http://localhost:8080"
	}
	u, err := url.Parse(o.BaseURL)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("newsletter: base URL %q has no host", o.BaseURL)
	}
	if o.From == "" {
		o.From = fmt.Sprintf("%s <newsletter@%s>", o.SiteName, u.Hostname())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, base: strings.TrimRight(o.BaseURL, "/"), msgHost: u.Hostname()}
	switch {
	case o.SignupsPerHour == 0:
		s.signups = &ratelimit.Window{Max: DefaultSignupsPerHour, Per: time.Hour}
	case o.SignupsPerHour > 0:
		s.signups = &ratelimit.Window{Max: o.SignupsPerHour, Per: time.Hour}
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.o.Now().UTC() }

// verify checks a token of the given purpose and returns the subscriber it
// names. A token for a subscriber since erased is a bad token.
func (s *Service) verify(ctx context.Context, purpose, token string) (Subscriber, error) {
	payload, err := s.o.Keys.Verify(purpose, token, s.now())
	switch {
	case errors.Is(err, secrets.ErrExpired):
		return Subscriber{}, ErrTokenExpired
	case err != nil:
		return Subscriber{}, ErrBadToken
	}
	var id int64
	if _, err := fmt.Sscan(payload, &id); err != nil || id <= 0 {
		return Subscriber{}, ErrBadToken
	}
	sub, err := s.o.Store.Subscriber(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Subscriber{}, ErrBadToken
	}
	return sub, err
}

// UnsubscribeURL is the link in every mail that unsubscribes id. It never
// expires: an old digest's link must still work.
func (s *Service) UnsubscribeURL(id int64) string {
	return s.base + "/unsubscribe?token=" + s.o.Keys.Sign(purposeUnsubscribe, fmt.Sprint(id), time.Time{})
}

// confirmURL is the link of a confirmation mail.
func (s *Service) confirmURL(id int64, now time.Time) string {
	return s.base + "/subscribe/confirm?token=" + s.o.Keys.Sign(purposeConfirm, fmt.Sprint(id), now.Add(ConfirmValidity))
}

// messageID makes a Message-ID that is stable for the same (kind, key): a
// resent digest carries the same one, so receivers can drop the duplicate.
func (s *Service) messageID(kind, key string) string {
	return "<" + kind + "." + key + "@" + s.msgHost + ">"
}

// Issues lists the issues whose send has started, newest first: the web
// archive.
func (s *Service) Issues(ctx context.Context) ([]Issue, error) {
	return s.o.Store.Issues(ctx, IssueFilter{SentOnly: true})
}

// Issue returns one issue of the archive; ErrNotFound unless its send has
// started (a composed but unsent issue is not public yet).
func (s *Service) Issue(ctx context.Context, week string) (Issue, error) {
	w, err := ParseWeek(week)
	if err != nil {
		return Issue{}, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	is, err := s.o.Store.Issue(ctx, w)
	if err != nil {
		return Issue{}, err
	}
	if is.SendStartedAt.IsZero() {
		return Issue{}, fmt.Errorf("newsletter: issue %s not sent yet: %w", w, ErrNotFound)
	}
	return is, nil
}

// WebHTML is an issue as shown in the browser archive.
func (s *Service) WebHTML(is Issue) string {
	return WebHTML(is, s.base+"/subscribe")
}
