package views

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
)

// requestIDHeader carries a request's ID: taken from a trusted proxy, or
// made here, and always sent back.
const requestIDHeader = "X-Request-ID"

// unmatchedRoute is the route label of a request no route matched, so a
// client making up paths cannot make up label values.
const unmatchedRoute = "unmatched"

// observer logs one line per request and counts requests in Prometheus.
// What it writes is chosen so that logs and metrics stay free of personal
// data: the route and the path, never the query string (tokens ride in it
// on /subscribe/confirm, /unsubscribe and /comments/stop, and search terms
// may be anything); a path segment that holds an "@" is replaced; the
// client's address only as a keyed hash whose key lives in this process's
// memory; no header, form field or cookie.
type observer struct {
	logger     *slog.Logger
	trustProxy bool
	requests   *prometheus.CounterVec
	duration   *prometheus.HistogramVec
	clientKey  []byte

	echo      *echo.Echo
	routeOnce sync.Once
	routes    map[string]bool // every registered route pattern
}

// observe returns the middleware that logs and counts each request; New
// installs it first of all, so it sees every request and its final status.
func (s *Server) observe() echo.MiddlewareFunc {
	o := &observer{
		logger:     s.opts.Logger,
		trustProxy: s.opts.TrustProxy,
		echo:       s.echo,
		clientKey:  make([]byte, 32),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_http_requests_total",
			Help: "HTTP requests by route pattern, method and status class (2xx, 3xx, 4xx, 5xx).",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tidings_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10},
		}, []string{"route"}),
	}
	rand.Read(o.clientKey) // never fails (crypto/rand)
	o.requests = metrics.Register(s.opts.Metrics, o.requests)
	o.duration = metrics.Register(s.opts.Metrics, o.duration)
	return o.middleware
}

func (o *observer) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get(requestIDHeader)
		if !o.trustProxy || !validRequestID(id) {
			id = newRequestID()
		}
		c.Response().Header().Set(requestIDHeader, id)
		if err := next(c); err != nil {
			// Render the error here rather than after every middleware has
			// returned, so the status logged is the one sent.
			c.Error(err)
		}
		took := time.Since(start)
		res := c.Response()
		status := res.Status
		route := o.route(c.Path())
		method := methodLabel(req.Method)
		o.requests.WithLabelValues(route, method, statusClass(status)).Inc()
		o.duration.WithLabelValues(route).Observe(took.Seconds())

		level := slog.LevelInfo
		if quietRoute(route) {
			level = slog.LevelDebug
		}
		if !o.logger.Enabled(req.Context(), level) {
			return nil
		}
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", method),
			slog.String("route", route),
			slog.String("path", logPath(req.URL.Path)),
			slog.Int("status", status),
			slog.Duration("duration", took),
			slog.Int64("bytes", res.Size),
		}
		if ip := c.RealIP(); ip != "" {
			attrs = append(attrs, slog.String("client", o.clientHash(ip)))
		}
		o.logger.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

// route is the label for the pattern the router matched: one of the
// registered patterns, or unmatchedRoute.
func (o *observer) route(pattern string) string {
	o.routeOnce.Do(func() {
		o.routes = map[string]bool{}
		for _, r := range o.echo.Routes() {
			o.routes[r.Path] = true
		}
	})
	if pattern == "" || !o.routes[pattern] {
		return unmatchedRoute
	}
	return pattern
}

// clientHash is a short keyed hash of a client's address: enough to tell
// one client's requests from another's in this process's logs, useless for
// finding the address (the key is random and never leaves memory).
func (o *observer) clientHash(ip string) string {
	mac := hmac.New(sha256.New, o.clientKey)
	mac.Write([]byte(ip))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

// quietRoute tells the routes logged at Debug: probes, scrapes and static
// assets, which would drown the rest.
func quietRoute(route string) bool {
	switch route {
	case "/healthz", "/readyz", "/metrics", stylePath:
		return true
	}
	return strings.HasPrefix(route, "/static/")
}

// maxLoggedPath bounds the path written to the log.
const maxLoggedPath = 200

// logPath is the path of a request as logged: any segment holding an "@"
// (an address someone put in a URL) replaced, and cut to maxLoggedPath
// bytes. The query string is never logged.
func logPath(p string) string {
	if strings.Contains(p, "@") {
		segs := strings.Split(p, "/")
		for i, s := range segs {
			if strings.Contains(s, "@") {
				segs[i] = "[redacted]"
			}
		}
		p = strings.Join(segs, "/")
	}
	if len(p) > maxLoggedPath {
		p = strings.ToValidUTF8(p[:maxLoggedPath], "") + "…"
	}
	return p
}

// methodLabel is the method as a label: the usual ones, else "other".
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusClass is "2xx" for 200–299 and so on.
func statusClass(code int) string {
	if code < 100 || code > 599 {
		return "other"
	}
	return strconv.Itoa(code/100) + "xx"
}

// validRequestID accepts a request ID from a proxy: 1 to 128 characters of
// letters, digits and - _ . : / + =, so it can be echoed and logged as is.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		switch {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("-_.:/+=", b) >= 0:
		default:
			return false
		}
	}
	return true
}

// newRequestID makes a random request ID of 24 hex digits.
func newRequestID() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
