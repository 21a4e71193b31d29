package views

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/newsletter"
)

// historySize is how many issues the digests page lists.
const historySize = 52

// digestRefresh is how often, in seconds, the digests page reloads itself
// while a send started here runs.
const digestRefresh = 2

// digestsPage is /admin/digests.
type digestsPage struct {
	Meta  meta
	Nav   adminNav
	Flash string
	Week  string    // the current week
	Next  time.Time // the next scheduled digest; zero when unknown
	// Issue is the current week's issue; nil until composed.
	Issue *digestIssue
	// Sending is true while a send started from this page runs in this
	// process; Progress counts the deliveries of the issue being (or last)
	// sent; SendError says why the last send stopped.
	Sending   bool
	Progress  *digestProgress
	SendError string
	// The test form: what was typed and why it was refused.
	TestEmail, TestError string
	History              []historyItem
	MoreHistory          bool
}

// digestIssue is the current week's issue as the page shows it.
type digestIssue struct {
	Week, Subject, Text, PreviewPath string
	Stories                          int
	Since, Until, Composed           time.Time
	SendStarted, Sent                time.Time
}

// digestProgress counts an issue's deliveries.
type digestProgress struct {
	Week                                    string
	Planned, Sent, Failed, Skipped, Pending int
}

// Done is the number of deliveries finished.
func (p digestProgress) Done() int { return p.Sent + p.Failed + p.Skipped }

// historyItem is one stored issue and the outcome of its deliveries.
type historyItem struct {
	Week, Subject, Path                     string
	Composed, Started, Finished             time.Time
	Sent, Failed, Bounced, Skipped, Pending int
	BouncedUnknown                          bool
}

// digestFlashes are the messages after a digest POST, by the done value
// of the redirect: fixed words, nothing a link can make the page say.
var digestFlashes = map[string]string{
	"composed": "This week’s issue is composed. Its stories are fixed now: the preview, the test, the send and the archive all show this issue.",
	"test":     "The test message was handed to the mail server. It is not counted as a delivery.",
	"started":  "The send has started. This page reloads itself every 2 seconds until it ends.",
	"busy":     "A send started here is already running; its progress is below.",
	"sent":     "That issue has been sent already; there is nothing left to send.",
}

// unsubscribePreview stands for each subscriber's own unsubscribe link in
// the text preview.
const unsubscribePreview = "[the subscriber's unsubscribe link]"

// digests serves GET /admin/digests: the coming issue (composed or not),
// the forms to compose, test and send it, its progress, and the history.
func (s *Server) digests(c echo.Context) error {
	return s.renderDigests(c, http.StatusOK, digestsPage{Flash: digestFlashes[c.QueryParam("done")]})
}

// composeDigest serves POST /admin/digests/compose: this week's issue,
// composed and stored now (nothing is sent).
func (s *Server) composeDigest(c echo.Context) error {
	if _, err := s.newsletterAdmin().IssueFor(c.Request().Context(), ""); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/admin/digests?done=composed")
}

// previewDigest serves GET /admin/digests/preview/:week: the stored issue's
// HTML as the archive shows it, a whole email document styled inline, so
// under the archive's CSP (inline styles, still no script).
func (s *Server) previewDigest(c echo.Context) error {
	week, err := newsletter.ParseWeek(c.Param("week"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	is, err := s.newsletterAdmin().StoredIssue(c.Request().Context(), week)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Security-Policy", issueCSP)
	return c.HTMLBlob(http.StatusOK, []byte(s.newsletterAdmin().WebHTML(is)))
}

// testDigest serves POST /admin/digests/test (fields week, email): one
// message of the stored issue to that address, recorded nowhere.
func (s *Server) testDigest(c echo.Context) error {
	form := c.Request().PostForm
	email := strings.TrimSpace(form.Get("email"))
	p := digestsPage{TestEmail: email}
	switch {
	case email == "":
		p.TestError = "Enter the address the test should go to."
	case len(email) > maxEmailLen:
		p.TestError, p.TestEmail = msgEmailTooLong, ""
	}
	if p.TestError != "" {
		return s.renderDigests(c, http.StatusBadRequest, p)
	}
	is, err := s.formIssue(c.Request().Context(), form.Get("week"))
	if err != nil {
		return err
	}
	err = s.newsletterAdmin().SendTest(c.Request().Context(), is.Week, email)
	var bad *newsletter.AddressError
	switch {
	case err == nil:
		return c.Redirect(http.StatusSeeOther, "/admin/digests?done=test")
	case errors.As(err, &bad):
		p.TestError = bad.Reason
		return s.renderDigests(c, http.StatusBadRequest, p)
	case errors.Is(err, newsletter.ErrTestFailed):
		p.TestError = "The mail server did not take the test message: " + strings.TrimPrefix(err.Error(), newsletter.ErrTestFailed.Error()+": ")
		return s.renderDigests(c, http.StatusBadGateway, p)
	default:
		return redacted{err: err, secret: email}
	}
}

// sendDigest serves POST /admin/digests/send (field week): the real send
// of that stored issue, started in the background in this process, one at
// a time. Deliveries are claimed in the store, so a send already under way
// elsewhere (the scheduler, another process) is shared, never doubled.
func (s *Server) sendDigest(c echo.Context) error {
	ctx := c.Request().Context()
	is, err := s.formIssue(ctx, c.Request().PostForm.Get("week"))
	if err != nil {
		return err
	}
	week := is.Week
	if !is.SentAt.IsZero() {
		return c.Redirect(http.StatusSeeOther, "/admin/digests?done=sent")
	}
	o := s.opts.DigestSend
	o.Progress = nil
	started := s.sending.start(week, func(ctx context.Context) error {
		rep, err := s.newsletterAdmin().Send(ctx, week, o)
		if err != nil {
			s.opts.Logger.Error("digest send from the admin page", "week", week, "err", err)
		} else {
			s.opts.Logger.Info("digest sent from the admin page", "week", rep.Week, "sent", rep.Sent, "failed", rep.Failed, "skipped", rep.Skipped, "bounced", rep.Bounced)
		}
		s.Invalidate() // the archive lists the issue now
		return err
	})
	if !started {
		return c.Redirect(http.StatusSeeOther, "/admin/digests?done=busy")
	}
	return c.Redirect(http.StatusSeeOther, "/admin/digests?done=started")
}

// formIssue reads the stored issue of the week a digest form names.
func (s *Server) formIssue(ctx context.Context, raw string) (newsletter.Issue, error) {
	week, err := newsletter.ParseWeek(raw)
	if err != nil {
		return newsletter.Issue{}, echo.NewHTTPError(http.StatusBadRequest, "The form names no issue week. Reload the digests page and try again.")
	}
	is, err := s.newsletterAdmin().StoredIssue(ctx, week)
	if errors.Is(err, newsletter.ErrNotFound) {
		return is, echo.NewHTTPError(http.StatusConflict, "No issue was composed in week "+week+". Reload the digests page and compose it first.")
	}
	return is, err
}

func (s *Server) renderDigests(c echo.Context, code int, p digestsPage) error {
	ctx := c.Request().Context()
	nl := s.newsletterAdmin()
	nav, err := s.adminNav(ctx, "digests")
	if err != nil {
		return err
	}
	p.Meta = meta{Title: "Digests — " + siteName + " admin", NoIndex: true}
	p.Nav = nav
	p.Week = nl.CurrentWeek()
	if s.opts.NextDigest != nil {
		p.Next = s.opts.NextDigest(time.Now())
	}
	is, err := nl.StoredIssue(ctx, p.Week)
	switch {
	case err == nil:
		p.Issue = &digestIssue{
			Week: is.Week, Subject: is.Subject, Stories: len(is.StoryIDs),
			Text:        strings.ReplaceAll(is.Text, newsletter.UnsubscribePlaceholder, unsubscribePreview),
			PreviewPath: "/admin/digests/preview/" + url.PathEscape(is.Week),
			Since:       is.Since, Until: is.Until, Composed: is.ComposedAt,
			SendStarted: is.SendStartedAt, Sent: is.SentAt,
		}
	case !errors.Is(err, newsletter.ErrNotFound):
		return err
	}
	running, week, sendErr := s.sending.state()
	p.Sending = running
	if running {
		p.Meta.Refresh = digestRefresh
	} else if sendErr != nil {
		p.SendError = "The last send started here stopped: " + sendErr.Error() + ". Sending again goes on where it stopped."
	}
	if week == "" && p.Issue != nil && !p.Issue.SendStarted.IsZero() {
		week = p.Issue.Week
	}
	if week != "" {
		dc, err := nl.Deliveries(ctx, week)
		if err != nil {
			return err
		}
		p.Progress = &digestProgress{Week: week, Planned: dc.Total(), Sent: dc.Sent, Failed: dc.Failed, Skipped: dc.Skipped, Pending: dc.Pending}
	}
	history, err := nl.History(ctx, historySize+1)
	if err != nil {
		return err
	}
	if len(history) > historySize {
		history, p.MoreHistory = history[:historySize], true
	}
	for _, rec := range history {
		it := historyItem{
			Week: rec.Issue.Week, Subject: rec.Issue.Subject,
			Path:     "/admin/digests/preview/" + url.PathEscape(rec.Issue.Week),
			Composed: rec.Issue.ComposedAt, Started: rec.Issue.SendStartedAt, Finished: rec.Issue.SentAt,
			Sent: rec.Deliveries.Sent, Failed: rec.Deliveries.Failed, Skipped: rec.Deliveries.Skipped,
			Pending: rec.Deliveries.Pending, Bounced: rec.Bounced, BouncedUnknown: rec.Bounced < 0,
		}
		p.History = append(p.History, it)
	}
	return s.render(c, code, "admin_digests", p)
}

// digestRunner runs at most one send at a time in the background of this
// process and remembers how the last one ended. Its zero value is ready.
type digestRunner struct {
	mu      sync.Mutex
	running bool
	week    string // of the send running, or the last one
	err     error  // why the last send stopped; nil if it finished
	cancel  context.CancelFunc
	done    chan struct{} // closed when the send running returns
	stopped bool          // by stop: no send starts any more
}

// start runs send in a goroutine unless one is running (or the server is
// stopping), and reports whether it did. The send outlives the request: it
// stops when done, or at stop.
func (r *digestRunner) start(week string, send func(ctx context.Context) error) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running || r.stopped {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r.running, r.week, r.err, r.cancel, r.done = true, week, nil, cancel, done
	go func() {
		defer close(done)
		err := send(ctx)
		r.mu.Lock()
		r.running, r.err = false, err
		r.mu.Unlock()
	}()
	return true
}

// stop cancels the send running, if any, and waits for it to return: it
// stops between messages, its work recorded, and the rest is claimed by the
// next send or the scheduler.
func (r *digestRunner) stop() {
	r.mu.Lock()
	r.stopped = true
	cancel, done := r.cancel, r.done
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// state is whether a send runs, its week (or the last one's), and why the
// last one stopped.
func (r *digestRunner) state() (bool, string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.running, r.week, r.err
}

// dashboardDigest fills in the dashboard's next digest and the outcome of
// the latest one sent.
func (s *Server) dashboardDigest(ctx context.Context, p *dashboardPage) error {
	if s.opts.NextDigest != nil {
		p.NextDigest = s.opts.NextDigest(time.Now())
	}
	nl := s.newsletterAdmin()
	if nl == nil {
		return nil
	}
	recent, err := nl.History(ctx, 2)
	if err != nil {
		return err
	}
	for _, rec := range recent {
		if rec.Issue.SendStartedAt.IsZero() {
			continue
		}
		p.LastDigest = &historyItem{
			Week: rec.Issue.Week, Subject: rec.Issue.Subject, Started: rec.Issue.SendStartedAt, Finished: rec.Issue.SentAt,
			Sent: rec.Deliveries.Sent, Failed: rec.Deliveries.Failed, Skipped: rec.Deliveries.Skipped,
			Pending: rec.Deliveries.Pending, Bounced: rec.Bounced, BouncedUnknown: rec.Bounced < 0,
		}
		break
	}
	return nil
}
