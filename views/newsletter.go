package views

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// Newsletter is what the site needs from the newsletter service.
type Newsletter interface {
	// Subscribe starts a double opt-in for email, given on page (a path on this site) by a client at ip.
	// A bad address is a *newsletter.AddressError; a known address is not an error (no enumeration).
	Subscribe(ctx context.Context, email, page, ip string) error
	// CheckConfirm validates a confirmation token without changing anything.
	CheckConfirm(ctx context.Context, token string) error
	// Confirm confirms the subscription; repeating it is harmless.
	Confirm(ctx context.Context, token string) error
	// CheckUnsubscribe validates an unsubscribe token without changing anything.
	CheckUnsubscribe(ctx context.Context, token string) error
	// Unsubscribe unsubscribes at once; repeating it is harmless.
	Unsubscribe(ctx context.Context, token string) error
	// Issues lists the issues whose send has started, newest first.
	Issues(ctx context.Context) ([]newsletter.Issue, error)
	// Issue returns one issue by week ("2026-W48"); newsletter.ErrNotFound if none was sent.
	Issue(ctx context.Context, week string) (newsletter.Issue, error)
	// WebHTML is an issue's HTML as shown in the browser archive.
	WebHTML(is newsletter.Issue) string
}

const (
	// maxEmailLen bounds what the sign-up form passes on; real addresses
	// have at most 254 bytes, and the service says why a shorter one is bad.
	maxEmailLen = 1024
	// msgEmailTooLong refuses an address longer than maxEmailLen.
	msgEmailTooLong = "That is far too long to be an email address."
	// maxLinkToken bounds a token read from a link before the service
	// looks at it.
	maxLinkToken = 1024
	// maxPagePath bounds the page a sign-up came from.
	maxPagePath = 200
)

// msgSubscribeStoreDown is shown by the sign-up form sent back when the
// store could not be reached.
const msgSubscribeStoreDown = "Your sign-up could not be saved just now. Please try again in a moment; your address is kept below."

// errNewsletterOff answers every newsletter route of a site built without
// a newsletter service.
var errNewsletterOff = echo.NewHTTPError(http.StatusServiceUnavailable,
	"The newsletter is not available on this site right now. Please try again later.")

// newsletterBox is the sign-up form: the page it sits on (sent along as the
// consent record's page) and, when shown again after a refusal, what was
// typed and why it was refused.
type newsletterBox struct {
	Page, Email, Error string
}

// noticePage is a short page: a heading, a few paragraphs, maybe one
// button, maybe the sign-up form and maybe a comment form sent back.
type noticePage struct {
	Meta       meta
	Heading    string
	Paragraphs []string
	Button     *formButton
	Box        *newsletterBox
	Comment    *commentForm
}

// formButton is a form of one button; Token, when set, is sent as the
// hidden field "token".
type formButton struct {
	Action, Token, Label string
}

// archivePage lists the digests sent so far.
type archivePage struct {
	Meta    meta
	Heading string
	Issues  []issueItem
}

// issueItem is one digest in the archive.
type issueItem struct {
	Week, Subject, Path string
	Date                time.Time // when its send started
}

// subscribeForm serves GET /subscribe: the sign-up form on a page of its own.
func (s *Server) subscribeForm(c echo.Context) error {
	return s.cached(c, "/subscribe", func(context.Context) (rendered, error) {
		return s.html("notice", noticePage{
			Meta:       meta{Title: "Subscribe — " + siteName, Canonical: s.abs("/subscribe"), Type: "website"},
			Heading:    "Subscribe to the weekly digest",
			Paragraphs: []string{"Every week, the privacy stories that mattered, in one mail. No tracking, and every issue has a link to unsubscribe at once."},
			Box:        &newsletterBox{Page: "/subscribe"},
		})
	})
}

// subscribe serves POST /subscribe. The answer is the same whether the
// address is new or known; the address is shown again only to the person
// who typed it, on the form refused, and goes into no URL, header, log line
// or cache.
func (s *Server) subscribe(c echo.Context) error {
	if s.opts.Newsletter == nil {
		return errNewsletterOff
	}
	form := c.Request().PostForm
	email := strings.TrimSpace(form.Get("email"))
	box := newsletterBox{Page: localPath(form.Get("page")), Email: email}
	switch {
	case email == "":
		box.Error = "Please enter your email address."
	case len(email) > maxEmailLen:
		box.Error, box.Email = msgEmailTooLong, ""
	default:
		err := s.opts.Newsletter.Subscribe(c.Request().Context(), email, box.Page, c.RealIP())
		var bad *newsletter.AddressError
		switch {
		case errors.As(err, &bad):
			box.Error = bad.Reason
		case errors.Is(err, feeds.ErrUnavailable):
			// Nothing was promised: the form again, the address kept.
			box.Error = msgSubscribeStoreDown
			c.Response().Header().Set("Retry-After", retryAfterStoreDown)
			return s.notice(c, http.StatusServiceUnavailable, noticePage{
				Heading:    "You are not subscribed yet",
				Paragraphs: []string{"The site cannot reach its store right now."},
				Box:        &box,
			})
		case errors.Is(err, newsletter.ErrTooManySignups):
			box.Error = "Too many sign-ups have come from your network in the last hour. Please try again later."
			c.Response().Header().Set("Retry-After", "3600")
			return s.notice(c, http.StatusTooManyRequests, noticePage{
				Heading:    "You are not subscribed yet",
				Paragraphs: []string{"This limit keeps the site from being used to mail strangers."},
				Box:        &box,
			})
		case err != nil:
			return redacted{err: err, secret: email}
		default:
			return s.notice(c, http.StatusOK, noticePage{
				Heading: "Check your inbox",
				Paragraphs: []string{
					"If this address can receive mail, a confirmation link is on its way to it.",
					"Open the mail and press “Confirm subscription” within 48 hours. Until you do, nothing else is sent to you; if you never do, the address is forgotten within a week.",
					"No mail after a few minutes? Look in your spam folder, or sign up again.",
				},
			})
		}
	}
	return s.notice(c, http.StatusBadRequest, noticePage{
		Heading:    "Please check the address",
		Paragraphs: []string{"The address could not be used to subscribe. Correct it and try again."},
		Box:        &box,
	})
}

// confirmPage serves GET /subscribe/confirm?token=: a button, and nothing
// changed, because mail scanners follow links.
func (s *Server) confirmPage(c echo.Context) error {
	if s.opts.Newsletter == nil {
		return errNewsletterOff
	}
	token := c.QueryParam("token")
	if err := checkLink(c.Request().Context(), token, s.opts.Newsletter.CheckConfirm); err != nil {
		return s.badLink(c, err, false)
	}
	return s.notice(c, http.StatusOK, noticePage{
		Heading:    "Confirm your subscription",
		Paragraphs: []string{"Press the button to receive the weekly " + siteName + " digest."},
		Button:     &formButton{Action: "/subscribe/confirm", Token: token, Label: "Confirm subscription"},
	})
}

// confirm serves POST /subscribe/confirm, the token in the form (or the
// URL). Confirming twice shows the same page.
func (s *Server) confirm(c echo.Context) error {
	if s.opts.Newsletter == nil {
		return errNewsletterOff
	}
	token := c.Request().PostForm.Get("token")
	if token == "" {
		token = c.QueryParam("token")
	}
	if err := checkLink(c.Request().Context(), token, s.opts.Newsletter.Confirm); err != nil {
		return s.badLink(c, err, false)
	}
	return s.notice(c, http.StatusOK, noticePage{
		Heading: "You’re subscribed",
		Paragraphs: []string{
			"Thank you. The weekly digest will come to your inbox, starting with the next issue.",
			"Every issue has a link to unsubscribe at once.",
		},
	})
}

// unsubscribePage serves GET /unsubscribe?token=: a button, and nothing
// changed.
func (s *Server) unsubscribePage(c echo.Context) error {
	if s.opts.Newsletter == nil {
		return errNewsletterOff
	}
	token := c.QueryParam("token")
	if err := checkLink(c.Request().Context(), token, s.opts.Newsletter.CheckUnsubscribe); err != nil {
		return s.badLink(c, err, true)
	}
	return s.notice(c, http.StatusOK, noticePage{
		Heading:    "Unsubscribe from the digest?",
		Paragraphs: []string{"Press the button and the weekly " + siteName + " digest stops at once."},
		Button:     &formButton{Action: "/unsubscribe?token=" + url.QueryEscape(token), Label: "Unsubscribe"},
	})
}

// unsubscribe serves POST /unsubscribe?token=, from the button above or as
// the RFC 8058 one-click POST of a mail provider (no cookie, no form token,
// body "List-Unsubscribe=One-Click", which is not needed): 200 with a page,
// never a redirect. The token in the URL is the proof.
func (s *Server) unsubscribe(c echo.Context) error {
	if s.opts.Newsletter == nil {
		return errNewsletterOff
	}
	if err := checkLink(c.Request().Context(), c.QueryParam("token"), s.opts.Newsletter.Unsubscribe); err != nil {
		return s.badLink(c, err, true)
	}
	return s.notice(c, http.StatusOK, noticePage{
		Heading:    "You’re unsubscribed",
		Paragraphs: []string{"You will get no more digests from " + siteName + ". Changed your mind? Sign up again below."},
		Box:        &newsletterBox{Page: "/unsubscribe"},
	})
}

// checkLink passes a token from a link to the service, refusing an empty
// or absurdly long one without asking it.
func checkLink(ctx context.Context, token string, use func(context.Context, string) error) error {
	if token == "" || len(token) > maxLinkToken {
		return newsletter.ErrBadToken
	}
	return use(ctx, token)
}

// badLink answers a bad or expired confirmation or unsubscribe link with a
// 400 page saying what to do; other errors go to the error handler.
func (s *Server) badLink(c echo.Context, err error, unsubscribing bool) error {
	expired := errors.Is(err, newsletter.ErrTokenExpired)
	if !expired && !errors.Is(err, newsletter.ErrBadToken) {
		return err
	}
	p := noticePage{Heading: "This link does not work"}
	switch {
	case unsubscribing:
		p.Paragraphs = []string{
			"This unsubscribe link is incomplete or damaged; mail programs sometimes cut long links.",
			"Copy the whole link from the mail into your browser, or use the unsubscribe link at the end of another issue.",
		}
	case expired:
		p.Heading = "This link has expired"
		p.Paragraphs = []string{"Confirmation links work for 48 hours, and this one is older. Sign up again below and a new link will be sent to you."}
		p.Box = &newsletterBox{Page: "/subscribe/confirm"}
	default:
		p.Paragraphs = []string{
			"This confirmation link is incomplete or damaged; mail programs sometimes cut long links.",
			"Copy the whole link from the mail into your browser, or sign up again below for a new one.",
		}
		p.Box = &newsletterBox{Page: "/subscribe/confirm"}
	}
	return s.notice(c, http.StatusBadRequest, p)
}

// notice renders a newsletter page that no cache may keep: it answers a
// POST or a personal link.
func (s *Server) notice(c echo.Context, code int, p noticePage) error {
	p.Meta = meta{Title: p.Heading + " — " + siteName, NoIndex: true}
	c.Response().Header().Set("Cache-Control", "no-store")
	return s.render(c, code, "notice", p)
}

// archive serves GET /newsletter: the digests sent so far, newest first.
func (s *Server) archive(c echo.Context) error {
	nl := s.opts.Newsletter
	if nl == nil {
		return errNewsletterOff
	}
	return s.cached(c, "/newsletter", func(ctx context.Context) (rendered, error) {
		list, err := nl.Issues(ctx)
		if err != nil {
			return rendered{}, err
		}
		data := archivePage{
			Heading: "Newsletter archive",
			Meta: meta{
				Title:       "Newsletter archive — " + siteName,
				Description: "Every weekly digest " + siteName + " has sent, readable in the browser.",
				Canonical:   s.abs("/newsletter"), Type: "website",
			},
		}
		for _, is := range list {
			item := issueItem{Week: is.Week, Subject: is.Subject, Path: "/newsletter/" + url.PathEscape(is.Week), Date: is.SendStartedAt}
			if item.Date.IsZero() {
				item.Date = is.ComposedAt
			}
			if item.Subject == "" {
				item.Subject = siteName + " digest, " + is.Week
			}
			data.Issues = append(data.Issues, item)
		}
		return s.html("archive", data)
	})
}

// issue serves GET /newsletter/:week: the digest as stored, a whole email
// document styled inline, so it gets a CSP that allows inline styles (and
// still no script). A week not in canonical form ("2026-w48") is redirected.
func (s *Server) issue(c echo.Context) error {
	nl := s.opts.Newsletter
	if nl == nil {
		return errNewsletterOff
	}
	week, err := newsletter.ParseWeek(c.Param("week"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	path := "/newsletter/" + week
	h := c.Response().Header()
	h.Set("Content-Security-Policy", issueCSP)
	err = s.cached(c, path, func(ctx context.Context) (rendered, error) {
		is, err := nl.Issue(ctx, week)
		if err != nil {
			return rendered{}, err
		}
		return rendered{body: []byte(nl.WebHTML(is)), contentType: echo.MIMETextHTMLCharsetUTF8, canonical: path}, nil
	})
	if err != nil {
		h.Set("Content-Security-Policy", siteCSP) // the error page is one of ours
	}
	return err
}

// localPath returns p when it is a plain path on this site, else "/": the
// page a sign-up came from is a form field anyone can set.
func localPath(p string) string {
	if len(p) > maxPagePath || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, `/\`) {
		return "/"
	}
	for _, r := range p {
		if r <= ' ' || r == 0x7f {
			return "/"
		}
	}
	return p
}

// redacted is an error whose text has an address taken out, so that the
// error handler's log line cannot hold it. errors.Is and As see through it.
type redacted struct {
	err    error
	secret string
}

func (r redacted) Error() string {
	msg := r.err.Error()
	for _, s := range []string{r.secret, strings.ToLower(r.secret)} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[address]")
		}
	}
	return msg
}

func (r redacted) Unwrap() error { return r.err }
