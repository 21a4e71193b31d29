// Package views is the web face of Tidings: routes, thin handlers, embedded
// templates and static assets. It is the only package that imports Echo.
package views

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// Options are what the web server needs from the rest of the program.
type Options struct {
	Stories feeds.Store
	// Ready reports whether the store can be reached, for /readyz.
	Ready func(ctx context.Context) error
	// Metrics is the registry served at /metrics.
	Metrics *prometheus.Registry
	Logger  *slog.Logger
	// BaseURL is the site's public address, for canonical links, feeds and the
	// sitemap; empty means http://localhost:8080.
	BaseURL string
	// TrustProxy takes the client address from X-Forwarded-For.
	TrustProxy bool
	// Newsletter serves sign-ups, confirmations, unsubscribes and the
	// archive. When nil the sign-up box still shows, and every newsletter
	// route answers 503 with a page saying the newsletter is not available.
	Newsletter Newsletter
	// Forms makes and checks the CSRF token of every form (*secrets.Keys).
	// Required with Newsletter and Comments; when nil, forms carry no token
	// and every form POST answers 503.
	Forms FormTokens
	// Comments serves the discussion under each story (*comments.Service).
	// When nil, story pages have no comment section and no form, lists show
	// no comment counts, and the comment routes answer 404.
	Comments Comments
	// Admin logs the administrator in and checks their sessions
	// (*admin.Service); see checkAdmin for what it requires. When nil,
	// every /admin/ route answers 404.
	Admin Admin
	// CacheMaxAge is how long a cached page is served before it is rendered
	// again although nobody called Invalidate: the longest delay before a
	// change made by another process (a poll, a moderator's shell command)
	// shows when Changes is nil or its announcement was lost. Zero means 30 s.
	CacheMaxAge time.Duration
	// Changes, when set, shares Invalidate with the other processes serving
	// the same store while Serve runs: each Invalidate here is published,
	// and a change published elsewhere drops this process's cached pages.
	Changes Changes
	// NextDigest, when set, is the next scheduled digest after a moment
	// (newsletter.Schedule.Next), shown on the admin dashboard and digests page.
	NextDigest func(now time.Time) time.Time
	// DigestSend tunes the sends started from /admin/digests (workers,
	// lease); its Progress is not used.
	DigestSend newsletter.SendOptions
	// Discover finds the feed behind an address typed in /admin/feeds
	// (feeds.Poller.Discover). When nil, an address is added as typed.
	Discover Discoverer
	// PollSoon, when set, wakes this process's poller after a feed is added
	// or "poll now" is pressed (feeds.Poller.Trigger); without it the new
	// work waits for the next check of any poller sharing the store.
	PollSoon func()
}

// pollSoon wakes the poller, if there is one to wake.
func (s *Server) pollSoon() {
	if s.opts.PollSoon != nil {
		s.opts.PollSoon()
	}
}

// Server serves the site.
type Server struct {
	opts    Options
	baseURL string // Options.BaseURL without a trailing slash
	echo    *echo.Echo
	pages   *pages
	cache   *pageCache
	// origins refuses cross-origin browser POSTs (see formGuard).
	origins *http.CrossOriginProtection
	// guarded holds the routes formGuard checks, "METHOD /path".
	guarded map[string]bool
	// forms makes the value of the comment form's time slot.
	forms *formClock
	// secureCookies marks cookies Secure: the site is served over https.
	secureCookies bool
	// changed holds an Invalidate not yet published (see changes.go).
	changed chan struct{}
	// sending is the send started from /admin/digests, if any.
	sending digestRunner
}

// New builds the server; templates are parsed here, so a broken template is a
// start-up error.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = prometheus.NewRegistry()
	}
	if opts.Newsletter != nil && opts.Forms == nil {
		return nil, errors.New("views: Options.Forms is required with Options.Newsletter")
	}
	if opts.Comments != nil && opts.Forms == nil {
		return nil, errors.New("views: Options.Forms is required with Options.Comments")
	}
	if err := checkAdmin(opts); err != nil {
		return nil, err
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(opts.BaseURL, "/")
	if base == "" {
		base = defaultBaseURL
	}
	s := &Server{
		opts: opts, baseURL: base, echo: echo.New(), pages: p,
		cache:   newPageCache(cacheBytes, cmp.Or(opts.CacheMaxAge, cacheMaxAge), time.Now),
		origins: newOriginCheck(base),
		forms:   &formClock{tokens: opts.Forms, now: time.Now},
		changed: make(chan struct{}, 1),
	}
	s.secureCookies = strings.HasPrefix(strings.ToLower(base), "https:")
	p.bind(template.FuncMap{"csrfToken": s.csrfToken})
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	if opts.TrustProxy {
		e.IPExtractor = echo.ExtractIPFromXFFHeader()
	} else {
		e.IPExtractor = echo.ExtractIPDirect()
	}
	// First of all: a request ID, a log line and the HTTP metrics for
	// every request (requestlog.go).
	e.Pre(s.observe())
	s.routes()
	return s, nil
}

// defaultBaseURL is used when Options.BaseURL is empty, as the --base-url default.
const defaultBaseURL = "http://localhost:8080"

// Invalidate makes every cached page stale, so the next request for it is
// rendered again from the store. The poller calls it (through a callback wired
// up in cmd) after it stores or changes stories, and the comment form after
// a comment is published at once.
//
// With Options.Changes, the other processes serving the same store are told
// too, and their announcements drop this process's pages (see changes.go).
// Cached pages also go stale on their own after Options.CacheMaxAge, a safety
// net for an announcement that was lost. Stale pages are kept until evicted
// only to compare them with their re-rendering: an unchanged page keeps its
// Last-Modified time.
func (s *Server) Invalidate() {
	s.cache.invalidate()
	s.announce()
}

// Handler is the site as an http.Handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.echo }

// Run listens on addr until ctx is cancelled, then shuts down gracefully,
// letting requests in flight finish for up to ten seconds.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("views: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	s.opts.Logger.Info("listening", "addr", ln.Addr().String())
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayed := s.relayChanges(relayCtx)
	defer func() {
		stopRelay()
		<-relayed
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("views: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := hs.Shutdown(shutCtx)
	s.sending.stop()
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	if err != nil {
		return fmt.Errorf("views: shutting down: %w", err)
	}
	return nil
}
