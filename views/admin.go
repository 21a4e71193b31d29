package views

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/admin"
)

// Admin is what the site needs from the admin login service
// (*admin.Service).
type Admin interface {
	// Login checks the password of a client at ip and returns a new session
	// token. Errors: admin.ErrThrottled, admin.ErrNoPassword,
	// admin.ErrBadPassword.
	Login(ctx context.Context, password, ip string) (string, error)
	// Check returns the session of a token, marking it used;
	// admin.ErrNotFound or admin.ErrExpired when there is none.
	Check(ctx context.Context, token string) (admin.Session, error)
	// Logout ends the session of a token.
	Logout(ctx context.Context, token string) error
}

const (
	// adminCookie holds the session token on a site served over http, for
	// the admin pages only; adminHostCookie on https, where the __Host-
	// prefix makes browsers insist on Secure, Path=/ and no Domain, so no
	// other host or insecure page can set or shadow it.
	adminCookie     = "tidings_admin"
	adminHostCookie = "__Host-tidings_admin"
	// maxAdminToken bounds a cookie value passed to the service.
	maxAdminToken = 100
	// loginPath is the login page.
	loginPath = "/admin/login"
)

// Messages of the login page.
const (
	msgEnterPassword = "Enter the admin password."
	msgBadPassword   = "That is not the admin password. Check it and try again."
	msgThrottled     = "Too many failed logins from your address. Wait 15 minutes, then try again."
	msgNoPassword    = "No admin password is set yet. On the server, run: tidings admin password"
	msgLoggedOut     = "You are logged out."
	msgEnded         = "Your session has ended. Log in again to continue."
)

// errNotSignedIn answers a POST to an admin page without a session.
var errNotSignedIn = echo.NewHTTPError(http.StatusUnauthorized,
	"You are not logged in, or your session has ended. Log in again at /admin/login, then repeat what you did.")

// loginPage is the admin login form.
type loginPage struct {
	Meta    meta
	Next    string
	Error   string // why the last attempt was refused
	Notice  string // logged out, session ended
	Invalid bool   // the password field is what was wrong
}

// adminHeaders marks every page under /admin, error pages included, as
// private and not for search engines. It runs before routing.
func adminHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; p == "/admin" || strings.HasPrefix(p, "/admin/") {
			h := c.Response().Header()
			h.Set("Cache-Control", "no-store")
			h.Set("X-Robots-Tag", "noindex, nofollow")
		}
		return next(c)
	}
}

// adminCookieName is the session cookie's name on this site.
func (s *Server) adminCookieName() string {
	if s.secureCookies {
		return adminHostCookie
	}
	return adminCookie
}

// adminToken reads the session token from the request's cookie, or "".
func (s *Server) adminToken(c echo.Context) string {
	ck, err := c.Cookie(s.adminCookieName())
	if err != nil || len(ck.Value) > maxAdminToken {
		return ""
	}
	return ck.Value
}

// setAdminCookie gives the browser a session token (value) or takes it
// back (""). It lasts as long as the browser session; the service ends the
// session itself after the idle or absolute timeout.
func (s *Server) setAdminCookie(c echo.Context, value string) {
	ck := &http.Cookie{Name: s.adminCookieName(), Value: value, HttpOnly: true, SameSite: http.SameSiteLaxMode}
	if s.secureCookies {
		ck.Secure, ck.Path = true, "/"
	} else {
		ck.Path = "/admin"
	}
	if value == "" {
		ck.MaxAge = -1
	}
	c.SetCookie(ck)
}

// signedIn lets a request through only with a live session. Without one, a
// GET is sent to the login page (and back here after it), anything else is
// refused with 401.
func (s *Server) signedIn(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token := s.adminToken(c)
		if token != "" {
			_, err := s.opts.Admin.Check(c.Request().Context(), token)
			switch {
			case err == nil:
				return next(c)
			case errors.Is(err, admin.ErrNotFound), errors.Is(err, admin.ErrExpired):
				s.setAdminCookie(c, "")
			default:
				return err
			}
		}
		req := c.Request()
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			return errNotSignedIn
		}
		q := url.Values{}
		if p := req.URL.Path; p != "/admin/" {
			q.Set("next", p)
		}
		if token != "" {
			q.Set("ended", "1")
		}
		to := loginPath
		if len(q) > 0 {
			to += "?" + q.Encode()
		}
		return c.Redirect(http.StatusSeeOther, to)
	}
}

// nextPattern is what a login may lead to: an admin page by its path.
var nextPattern = regexp.MustCompile(`^/admin/[a-z0-9_-]+(/[a-z0-9_-]+)*$`)

// safeNext is where a login leads: next when it is an admin page of this
// site, else the dashboard. It is never another site (an open redirect).
func safeNext(next string) string {
	if len(next) <= 200 && nextPattern.MatchString(next) && next != loginPath {
		return next
	}
	return "/admin/"
}

// loginForm serves GET /admin/login; a browser with a live session goes
// straight to the dashboard.
func (s *Server) loginForm(c echo.Context) error {
	next := safeNext(c.QueryParam("next"))
	if token := s.adminToken(c); token != "" {
		if _, err := s.opts.Admin.Check(c.Request().Context(), token); err == nil {
			return c.Redirect(http.StatusSeeOther, next)
		}
	}
	p := loginPage{Next: next}
	switch {
	case c.QueryParam("out") != "":
		p.Notice = msgLoggedOut
	case c.QueryParam("ended") != "":
		p.Notice = msgEnded
	}
	return s.renderLogin(c, http.StatusOK, p)
}

// login serves POST /admin/login (field password): a new session, its
// token in the cookie, replacing the one the browser had, then on to the
// page asked for. A refusal shows the form again with why: 400 for an
// empty field, 401 for a wrong password, 429 (with Retry-After) after too
// many failures, 503 when no password is set.
func (s *Server) login(c echo.Context) error {
	form := c.Request().PostForm
	p := loginPage{Next: safeNext(form.Get("next"))}
	password := form.Get("password")
	if password == "" {
		p.Error, p.Invalid = msgEnterPassword, true
		return s.renderLogin(c, http.StatusBadRequest, p)
	}
	ctx := c.Request().Context()
	token, err := s.opts.Admin.Login(ctx, password, c.RealIP())
	switch {
	case errors.Is(err, admin.ErrBadPassword):
		p.Error, p.Invalid = msgBadPassword, true
	case errors.Is(err, admin.ErrThrottled):
		p.Error = msgThrottled
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(admin.FailureWindow.Seconds())))
	case errors.Is(err, admin.ErrNoPassword):
		p.Error = msgNoPassword
	case err != nil:
		return err
	}
	if err != nil {
		return s.renderLogin(c, statusOf(err), p)
	}
	// Rotation: the session the browser came with, if any, ends now.
	if old := s.adminToken(c); old != "" {
		if err := s.opts.Admin.Logout(ctx, old); err != nil {
			return err
		}
	}
	s.setAdminCookie(c, token)
	return c.Redirect(http.StatusSeeOther, p.Next)
}

// logout serves POST /admin/logout: the session ends, the cookie goes.
func (s *Server) logout(c echo.Context) error {
	if err := s.opts.Admin.Logout(c.Request().Context(), s.adminToken(c)); err != nil {
		return err
	}
	s.setAdminCookie(c, "")
	return c.Redirect(http.StatusSeeOther, loginPath+"?out=1")
}

func (s *Server) renderLogin(c echo.Context, code int, p loginPage) error {
	p.Meta = meta{Title: "Log in — " + siteName + " admin", NoIndex: true}
	return s.render(c, code, "admin_login", p)
}

// checkAdmin refuses Options the admin pages cannot work with: they need
// form tokens, and a comment service that also moderates.
func checkAdmin(opts Options) error {
	if opts.Admin == nil {
		return nil
	}
	if opts.Forms == nil {
		return errors.New("views: Options.Forms is required with Options.Admin")
	}
	if _, ok := opts.Comments.(Moderation); opts.Comments != nil && !ok {
		return errors.New("views: with Options.Admin, Options.Comments must also moderate (views.Moderation)")
	}
	return nil
}

// moderation is the comment service as the moderation queue uses it; nil
// on a site without comments.
func (s *Server) moderation() Moderation {
	m, _ := s.opts.Comments.(Moderation)
	return m
}
