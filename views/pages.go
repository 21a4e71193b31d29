package views

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// stylePath carries a hash of the stylesheet so it can be cached for a year.
var stylePath = func() string {
	sum := sha256.Sum256(styleCSS)
	return "/static/style." + hex.EncodeToString(sum[:6]) + ".css"
}()

// pages holds every page template, each parsed with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every template at start, so a broken one stops start-up.
func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		"date":      func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
		"isoDate":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"dateTime":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 MST") },
		"stylePath": func() string { return stylePath },
		"topics":    func() []string { return feeds.TopicTags() },
		// csrfToken is bound to the server by pages.bind.
		"csrfToken": func() string { return "" },
		"box":       func(page string) newsletterBox { return newsletterBox{Page: page} },
		"plural":    countNoun,
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	// Files named _*.html hold parts shared by every page.
	shared := []string{"templates/layout.html"}
	for _, n := range names {
		if strings.HasPrefix(n, "templates/_") {
			shared = append(shared, n)
		}
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		if slices.Contains(shared, n) {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, append(slices.Clone(shared), n)...)
		if err != nil {
			return nil, fmt.Errorf("views: template %s: %w", n, err)
		}
		name := n[len("templates/") : len(n)-len(".html")]
		p.byName[name] = t
	}
	for _, required := range pageNames {
		if p.byName[required] == nil {
			return nil, fmt.Errorf("views: template %q is missing", required)
		}
	}
	return p, nil
}

// bind sets template functions that need the server, such as csrfToken.
// It runs before the server serves anything.
func (p *pages) bind(funcs template.FuncMap) {
	for _, t := range p.byName {
		t.Funcs(funcs)
	}
}

// pageNames are the templates the handlers use; each must exist at start.
var pageNames = []string{"home", "story", "list", "search", "error", "notice", "archive",
	"admin_login", "admin_dashboard", "admin_comments", "admin_subscribers", "admin_digests",
	"admin_feeds"}

// render executes a page into a buffer first, so a template error becomes a
// clean error page instead of half a page. It is for pages outside the cache
// (error pages), which the error handler writes after Echo's gzip middleware
// has returned, so it compresses them itself.
func (s *Server) render(c echo.Context, code int, name string, data any) error {
	r, err := s.html(name, data)
	if err != nil {
		return err
	}
	return s.writeRendered(c, code, r)
}

// writeRendered writes a page rendered outside the cache, gzipped when the
// client accepts it.
func (s *Server) writeRendered(c echo.Context, code int, r rendered) error {
	h := c.Response().Header()
	if !strings.Contains(h.Get(echo.HeaderVary), echo.HeaderAcceptEncoding) {
		h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	}
	if !acceptsGzip(c.Request().Header.Get(echo.HeaderAcceptEncoding)) {
		return c.Blob(code, r.contentType, r.body)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(r.body) // a bytes.Buffer does not fail
	_ = zw.Close()
	h.Set(echo.HeaderContentEncoding, "gzip")
	return c.Blob(code, r.contentType, buf.Bytes())
}

// html renders a page for the cache.
func (s *Server) html(name string, data any) (rendered, error) {
	t := s.pages.byName[name]
	if t == nil {
		return rendered{}, fmt.Errorf("views: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return rendered{}, fmt.Errorf("views: rendering %s: %w", name, err)
	}
	return rendered{body: buf.Bytes(), contentType: echo.MIMETextHTMLCharsetUTF8}, nil
}

// siteCSP keeps pages to their own origin: no script at all, no inline style.
const siteCSP = "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// issueCSP is siteCSP for an archived digest, an email document styled
// inline: it adds only 'unsafe-inline' styles. Scripts stay impossible.
const issueCSP = "default-src 'self'; img-src 'self'; style-src 'self' 'unsafe-inline'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders keeps pages to their own origin and tells browsers so.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", siteCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

func (s *Server) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

func (s *Server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if s.opts.Ready != nil {
		if err := s.opts.Ready(ctx); err != nil {
			s.opts.Logger.Warn("not ready", "err", err)
			return c.String(http.StatusServiceUnavailable, "store unreachable\n")
		}
	}
	return c.String(http.StatusOK, "ok\n")
}

func (s *Server) style(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, "text/css; charset=utf-8", styleCSS)
}
