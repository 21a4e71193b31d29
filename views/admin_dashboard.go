package views

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// subscriberCounter is what the dashboard needs from the newsletter
// service (*newsletter.Service), when the site has one.
type subscriberCounter interface {
	Counts(ctx context.Context) (map[newsletter.Status]int, error)
}

// maxHeldCount is how many held comments the dashboard and the queue
// count exactly; beyond it they say "more than".
const maxHeldCount = 500

// adminNav is the navigation of every admin page once logged in.
type adminNav struct {
	Current string // "dashboard" or "comments"
	// Held counts the comments awaiting moderation; -1 on a site without
	// comments, which has no queue.
	Held     int
	HeldMore bool // more than Held
	// Newsletter is true on a site whose newsletter the admin pages manage
	// (subscribers, digests).
	Newsletter bool
}

// dashboardPage is /admin/: a few numbers about the site.
type dashboardPage struct {
	Meta         meta
	Nav          adminNav
	StoriesToday int
	Today        time.Time
	// Subscribers is false on a site without a newsletter.
	Subscribers bool
	Confirmed   int
	Pending     int
	Sources     int // unpaused
	Paused      int
	Failing     int       // unpaused sources whose last poll failed
	LastPoll    time.Time // the latest poll of any source; zero: never
	// NextDigest is the next scheduled digest (zero: unknown); LastDigest
	// the latest issue whose send started, nil if none.
	NextDigest time.Time
	LastDigest *historyItem
}

// dashboard serves GET /admin/.
func (s *Server) dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	nav, err := s.adminNav(ctx, "dashboard")
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	p := dashboardPage{
		Meta:  meta{Title: "Dashboard — " + siteName + " admin", NoIndex: true},
		Nav:   nav,
		Today: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC),
	}
	if p.StoriesToday, err = s.opts.Stories.CountStories(ctx, feeds.StoryFilter{VisibleOnly: true, Since: p.Today}); err != nil {
		return err
	}
	if sc, ok := s.opts.Newsletter.(subscriberCounter); ok {
		counts, err := sc.Counts(ctx)
		if err != nil {
			return err
		}
		p.Subscribers, p.Confirmed, p.Pending = true, counts[newsletter.Confirmed], counts[newsletter.Pending]
	}
	if err := s.dashboardDigest(ctx, &p); err != nil {
		return err
	}
	srcs, err := s.opts.Stories.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return err
	}
	for _, src := range srcs {
		if src.LastPolledAt.After(p.LastPoll) {
			p.LastPoll = src.LastPolledAt
		}
		switch {
		case src.Paused:
			p.Paused++
		case src.LastError != "":
			p.Failing++
			p.Sources++
		default:
			p.Sources++
		}
	}
	return s.render(c, http.StatusOK, "admin_dashboard", p)
}

// adminNav counts the held comments for the navigation.
func (s *Server) adminNav(ctx context.Context, current string) (adminNav, error) {
	nav := adminNav{Current: current, Held: -1, Newsletter: s.newsletterAdmin() != nil}
	if s.moderation() == nil {
		return nav, nil
	}
	held, err := s.moderation().List(ctx, comments.Filter{Statuses: []comments.Status{comments.Pending}, Limit: maxHeldCount + 1})
	if err != nil {
		return nav, err
	}
	nav.Held = min(len(held), maxHeldCount)
	nav.HeldMore = len(held) > maxHeldCount
	return nav, nil
}
