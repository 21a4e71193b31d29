package views

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
)

// FormTokens makes and checks the CSRF token every form carries.
type FormTokens interface {
	// FormToken makes the token for forms served at now. It is the same for
	// every visitor, so a page holding it may be cached for everyone.
	FormToken(now time.Time) string
	// CheckFormToken verifies a token made by FormToken and returns when it
	// was issued; an error when it is forged, damaged or older than maxAge.
	CheckFormToken(token string, now time.Time, maxAge time.Duration) (time.Time, error)
}

const (
	// csrfField is the hidden form field that carries the form token.
	csrfField = "csrf"
	// formMaxAge is how long a served form may be submitted.
	formMaxAge = 24 * time.Hour
	// maxFormBody bounds the body of any POST.
	maxFormBody = 64 << 10
	// formTokenStep is how often the token in served forms changes. A token
	// is the same for everyone, so a cached page may hold it; a coarse step
	// keeps a page's ETag and Last-Modified unchanged while its content is,
	// and a form stays usable for formMaxAge less at most one step.
	formTokenStep = time.Hour
)

// Refusals of the form guard, each a clear page through the error handler.
var (
	errCrossOrigin = echo.NewHTTPError(http.StatusForbidden,
		"This form was sent from another site, so it was refused. If you meant to send it, open this site and use the form here.")
	errFormExpired = echo.NewHTTPError(http.StatusForbidden,
		"This form has expired; reload the page and try again.")
	errFormTooLarge = echo.NewHTTPError(http.StatusRequestEntityTooLarge,
		"What was sent is too large for this form (at most 64 KB).")
	errNotAForm = echo.NewHTTPError(http.StatusUnsupportedMediaType,
		"This address only takes forms sent by a web page (application/x-www-form-urlencoded or multipart/form-data).")
	errBadForm = echo.NewHTTPError(http.StatusBadRequest,
		"The form could not be read. Reload the page and try again.")
	errFormsOff = echo.NewHTTPError(http.StatusServiceUnavailable,
		"This site cannot take forms right now. Please try again later.")
)

// formGuard protects every state-changing route registered on the server
// (POST, PUT, PATCH, DELETE): the body is capped at maxFormBody, a browser
// request from another origin is refused (http.CrossOriginProtection), the
// body must be a form, and its csrf field must be a form token at most
// formMaxAge old. Routes in guardExempt only get the size cap: their proof
// is elsewhere (the token in a one-click unsubscribe URL). Requests that
// match no route pass untouched to Echo's 404 or 405.
func (s *Server) formGuard(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		key := req.Method + " " + c.Path()
		if !s.guarded[key] {
			return next(c)
		}
		if req.ContentLength > maxFormBody {
			return errFormTooLarge
		}
		req.Body = http.MaxBytesReader(c.Response(), req.Body, maxFormBody)
		if guardExempt[key] {
			return next(c)
		}
		if err := s.origins.Check(req); err != nil {
			return errCrossOrigin
		}
		if s.opts.Forms == nil {
			return errFormsOff
		}
		form, err := readForm(req)
		if err != nil {
			return err
		}
		if _, err := s.opts.Forms.CheckFormToken(form.Get(csrfField), time.Now(), formMaxAge); err != nil {
			return errFormExpired
		}
		return next(c)
	}
}

// guardExempt lists the routes ("METHOD /path" as registered) that only get
// formGuard's size cap.
var guardExempt = map[string]bool{
	// RFC 8058 one-click unsubscribe: a mail provider POSTs with no cookie,
	// no form token and no browser headers; the signed token in the URL is
	// the proof. The confirm button of GET /unsubscribe posts here too.
	http.MethodPost + " /unsubscribe": true,
	// The same for the link that stops reply notifications.
	http.MethodPost + " /comments/stop": true,
}

// guardRoutes records which registered routes formGuard protects; it runs
// once every route is registered.
func (s *Server) guardRoutes() {
	s.guarded = map[string]bool{}
	for _, r := range s.echo.Routes() {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			s.guarded[r.Method+" "+r.Path] = true
		}
	}
}

// newOriginCheck builds the cross-origin check, trusting the site's own
// public origin as well, for proxies that rewrite the Host header.
func newOriginCheck(baseURL string) *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	if u, err := url.Parse(baseURL); err == nil && u.Scheme != "" && u.Host != "" {
		_ = p.AddTrustedOrigin(u.Scheme + "://" + u.Host) // scheme and host only: valid
	}
	return p
}

// readForm parses the body of a form POST. Only the body counts: fields in
// the URL query are not form fields (handlers read req.PostForm).
func readForm(req *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil {
		return nil, errNotAForm
	}
	switch mt {
	case echo.MIMEApplicationForm:
		err = req.ParseForm()
	case echo.MIMEMultipartForm:
		err = req.ParseMultipartForm(maxFormBody)
		if req.MultipartForm != nil {
			// Within maxFormBody every part stays in memory; this frees any
			// file a future limit change might spill to disk.
			defer req.MultipartForm.RemoveAll()
		}
	default:
		return nil, errNotAForm
	}
	if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
		return nil, errFormTooLarge
	}
	if err != nil {
		return nil, errBadForm
	}
	return req.PostForm, nil
}

// csrfToken is the template helper behind {{template "csrf"}}: the token for
// forms served now (to the formTokenStep), or "" when the site has no
// FormTokens. Being coarse, it cannot tell how fast a form was filled in.
func (s *Server) csrfToken() string {
	if s.opts.Forms == nil {
		return ""
	}
	return s.opts.Forms.FormToken(time.Now().Truncate(formTokenStep))
}
