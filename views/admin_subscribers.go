package views

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/newsletter"
)

// NewsletterAdmin is what the subscriber and digest pages need from the
// newsletter service (*newsletter.Service); the server finds it on
// Options.Newsletter. Without it, those pages are 404.
type NewsletterAdmin interface {
	// Counts counts subscribers by status.
	Counts(ctx context.Context) (map[newsletter.Status]int, error)
	// Lookup finds a subscriber by address: *newsletter.AddressError,
	// newsletter.ErrNotFound.
	Lookup(ctx context.Context, email string) (newsletter.Subscriber, error)
	// Remove erases an address and its delivery records; newsletter.ErrNotFound.
	Remove(ctx context.Context, email string) error
	// Export writes every subscriber as CSV, as `subscribers export`.
	Export(ctx context.Context, w io.Writer) error

	// CurrentWeek names the issue composed now.
	CurrentWeek() string
	// StoredIssue is a week's issue as stored, sent or not; newsletter.ErrNotFound.
	StoredIssue(ctx context.Context, week string) (newsletter.Issue, error)
	// IssueFor composes the current week's issue if need be and returns it.
	IssueFor(ctx context.Context, week string) (newsletter.Issue, error)
	// History lists the stored issues with their delivery counts, newest first.
	History(ctx context.Context, limit int) ([]newsletter.IssueRecord, error)
	// Deliveries counts a week's deliveries by state.
	Deliveries(ctx context.Context, week string) (newsletter.DeliveryCounts, error)
	// SendTest sends one unrecorded message of a week's issue to an address.
	SendTest(ctx context.Context, week, email string) error
	// Send sends a week's issue to every subscriber owed it.
	Send(ctx context.Context, week string, o newsletter.SendOptions) (newsletter.SendReport, error)
	// WebHTML is an issue's HTML as shown in a browser.
	WebHTML(is newsletter.Issue) string
}

// newsletterAdmin is the newsletter service as the admin pages use it;
// nil on a site without a newsletter.
func (s *Server) newsletterAdmin() NewsletterAdmin {
	n, _ := s.opts.Newsletter.(NewsletterAdmin)
	return n
}

// subscribersPage is /admin/subscribers.
type subscribersPage struct {
	Meta   meta
	Nav    adminNav
	Flash  string
	Counts []statusCount
	Total  int
	// The look-up form: what was typed, why it was refused, and what was found.
	Lookup      string
	LookupError string
	Found       *foundSubscriber
	// The removal form: the two typings of the address, and why they were refused.
	Remove, RemoveAgain, RemoveError string
}

// statusCount is one line of the counts.
type statusCount struct {
	Status newsletter.Status
	Label  string
	N      int
}

// foundSubscriber is the result of a look-up.
type foundSubscriber struct {
	Email          string
	Status         newsletter.Status
	Created        time.Time
	Confirmed      time.Time
	Unsubscribed   time.Time
	HardFailures   int
	ConsentPage    string
	ConsentPresent bool
}

// statusLabels are the statuses in the order shown.
var statusLabels = []statusCount{
	{Status: newsletter.Confirmed, Label: "Confirmed"},
	{Status: newsletter.Pending, Label: "Awaiting confirmation"},
	{Status: newsletter.Unsubscribed, Label: "Unsubscribed"},
	{Status: newsletter.Bounced, Label: "Bounced"},
}

// Messages of the subscribers page.
const (
	msgEnterAddress   = "Enter the address to look for."
	msgUnknownAddr    = "No subscriber has that address."
	msgRemoveAgain    = "Type the address a second time, in the second field, to confirm the erasure."
	msgRemoveMismatch = "The two addresses differ. Type the same address in both fields."
	msgRemoved        = "The subscriber was erased, with every delivery record of it."
)

// subscribers serves GET /admin/subscribers: the counts and the forms.
func (s *Server) subscribers(c echo.Context) error {
	p := subscribersPage{}
	if c.QueryParam("done") == "removed" {
		p.Flash = msgRemoved
	}
	return s.renderSubscribers(c, http.StatusOK, p)
}

// lookupSubscriber serves POST /admin/subscribers/lookup (field email). The
// address travels in the body, never in a URL, so it reaches no log.
func (s *Server) lookupSubscriber(c echo.Context) error {
	email := strings.TrimSpace(c.Request().PostForm.Get("email"))
	p := subscribersPage{Lookup: email}
	switch {
	case email == "":
		p.LookupError = msgEnterAddress
	case len(email) > maxEmailLen:
		p.LookupError, p.Lookup = msgEmailTooLong, ""
	}
	if p.LookupError != "" {
		return s.renderSubscribers(c, http.StatusBadRequest, p)
	}
	sub, err := s.newsletterAdmin().Lookup(c.Request().Context(), email)
	if err != nil {
		msg, code, ok := subscriberRefusal(err)
		if !ok {
			return redacted{err: err, secret: email}
		}
		p.LookupError = msg
		return s.renderSubscribers(c, code, p)
	}
	p.Found = &foundSubscriber{
		Email: email, Status: sub.Status, Created: sub.CreatedAt, Confirmed: sub.ConfirmedAt,
		Unsubscribed: sub.UnsubscribedAt, HardFailures: sub.HardFailures,
		ConsentPage: sub.ConsentPage, ConsentPresent: !sub.ConsentAt.IsZero(),
	}
	p.Remove = email
	return s.renderSubscribers(c, http.StatusOK, p)
}

// removeSubscriber serves POST /admin/subscribers/remove (fields email and
// confirm, the same address typed twice, since there is no script to ask
// "are you sure?"): the erasure of `subscribers remove`, then back to the
// page, which says it was done.
func (s *Server) removeSubscriber(c echo.Context) error {
	form := c.Request().PostForm
	email, again := strings.TrimSpace(form.Get("email")), strings.TrimSpace(form.Get("confirm"))
	p := subscribersPage{Remove: email, RemoveAgain: again}
	switch {
	case email == "":
		p.RemoveError = "Enter the address to erase."
	case len(email) > maxEmailLen || len(again) > maxEmailLen:
		p.RemoveError, p.Remove, p.RemoveAgain = msgEmailTooLong, "", ""
	case again == "":
		p.RemoveError = msgRemoveAgain
	case !strings.EqualFold(email, again):
		p.RemoveError = msgRemoveMismatch
	}
	if p.RemoveError != "" {
		return s.renderSubscribers(c, http.StatusBadRequest, p)
	}
	// Checked first, so a malformed address is refused with the reason;
	// Remove then finds and erases the subscriber in one look-up.
	_, err := newsletter.NormaliseAddress(email)
	if err == nil {
		err = s.newsletterAdmin().Remove(c.Request().Context(), email)
	}
	if err != nil {
		msg, code, ok := subscriberRefusal(err)
		if !ok {
			return redacted{err: err, secret: email}
		}
		p.RemoveError = msg
		return s.renderSubscribers(c, code, p)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/subscribers?done=removed")
}

// subscriberRefusal is the message and status for an address that is not
// one (400) or no subscriber's (404); ok is false for any other error.
func subscriberRefusal(err error) (msg string, code int, ok bool) {
	var bad *newsletter.AddressError
	switch {
	case errors.As(err, &bad):
		return bad.Reason, http.StatusBadRequest, true
	case errors.Is(err, newsletter.ErrNotFound):
		return msgUnknownAddr, http.StatusNotFound, true
	}
	return "", 0, false
}

// exportSubscribers serves GET /admin/subscribers/export.csv: the CSV of
// `subscribers export`, as a download no cache keeps.
func (s *Server) exportSubscribers(c echo.Context) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="tidings-subscribers-`+time.Now().UTC().Format("2006-01-02")+`.csv"`)
	err := s.newsletterAdmin().Export(c.Request().Context(), c.Response())
	switch {
	case err == nil:
		if !c.Response().Committed {
			c.Response().WriteHeader(http.StatusOK)
		}
		return nil
	case !c.Response().Committed:
		h.Del(echo.HeaderContentDisposition)
		return err // an error page, not a file
	}
	// Too late for an error page: cut the download short, so the browser
	// reports it failed instead of keeping half a list.
	s.opts.Logger.Error("subscriber export failed", "err", err)
	panic(http.ErrAbortHandler)
}

func (s *Server) renderSubscribers(c echo.Context, code int, p subscribersPage) error {
	ctx := c.Request().Context()
	nav, err := s.adminNav(ctx, "subscribers")
	if err != nil {
		return err
	}
	counts, err := s.newsletterAdmin().Counts(ctx)
	if err != nil {
		return err
	}
	p.Meta = meta{Title: "Subscribers — " + siteName + " admin", NoIndex: true}
	p.Nav = nav
	for _, sc := range statusLabels {
		sc.N = counts[sc.Status]
		p.Total += sc.N
		p.Counts = append(p.Counts, sc)
	}
	return s.render(c, code, "admin_subscribers", p)
}
