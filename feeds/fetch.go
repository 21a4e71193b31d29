package feeds

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults for FetchOptions fields left zero.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultFetchTimeout   = 30 * time.Second
	DefaultMaxFeedBytes   = 10 << 20
	DefaultMaxRedirects   = 5
)

// FetchOptions set a Fetcher's limits. Zero fields take the defaults above.
type FetchOptions struct {
	// ConnectTimeout bounds the TCP connect and the TLS handshake.
	ConnectTimeout time.Duration
	// Timeout bounds the whole request, body included.
	Timeout time.Duration
	// MaxBytes caps the body after decompression; a larger feed is an error.
	MaxBytes int64
	// MaxRedirects is how many redirects are followed.
	MaxRedirects int
	// UserAgent is sent with every request; see UserAgent.
	UserAgent string
	// AllowPrivate lets feeds live on loopback and private addresses.
	AllowPrivate bool

	// allowDial lets chosen addresses through the guard; set by tests only
	// (export_test.go), to have a loopback server stand in for a public one.
	allowDial func(netip.AddrPort) bool
}

func (o FetchOptions) withDefaults() FetchOptions {
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultFetchTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxFeedBytes
	}
	if o.MaxRedirects <= 0 {
		o.MaxRedirects = DefaultMaxRedirects
	}
	if o.UserAgent == "" {
		o.UserAgent = UserAgent("dev", "")
	}
	return o
}

// UserAgent returns the honest User-Agent Tidings sends to feed servers:
// "Tidings/<version> (+<base-url>)", so their operators know who polls them.
func UserAgent(version, baseURL string) string {
	if version == "" {
		version = "dev"
	}
	if baseURL == "" {
		return "Tidings/" + version
	}
	return "Tidings/" + version + " (+" + baseURL + ")"
}

// FetchStatus says what a successful fetch found.
type FetchStatus int

const (
	// FetchOK means the body holds a fresh copy of the feed.
	FetchOK FetchStatus = iota + 1
	// FetchNotModified means the server answered 304 to a conditional GET.
	FetchNotModified
)

// FetchResult is the outcome of a successful fetch.
type FetchResult struct {
	Status       FetchStatus
	Body         []byte // decompressed; empty when not modified
	ContentType  string
	URL          string // the URL finally fetched, after redirects
	ETag         string
	LastModified string
	// MaxAge is the Cache-Control max-age the server asked for; 0 if none.
	MaxAge time.Duration
}

// FeedError is why a feed could not be fetched or parsed, in words a person
// understands ("HTTP 500 Internal Server Error", "not a feed (HTML page)").
type FeedError struct {
	Reason string
	// RetryAfter is how long the server asked us to wait (429 and 503), or 0.
	RetryAfter time.Duration
	// Err is the underlying error, when there is one.
	Err error
}

func (e *FeedError) Error() string { return "feeds: " + e.Reason }

// Unwrap returns the underlying error.
func (e *FeedError) Unwrap() error { return e.Err }

var errTooManyRedirects = errors.New("too many redirects")

// Fetcher downloads feeds with its own HTTP client: bounded time and size,
// conditional GET, gzip, a capped number of redirects, and the private-address
// guard on every connection. It is safe for concurrent use.
type Fetcher struct {
	opts      FetchOptions
	client    *http.Client
	transport *http.Transport
}

// NewFetcher returns a Fetcher with opts' limits.
func NewFetcher(opts FetchOptions) *Fetcher {
	opts = opts.withDefaults()
	guard := dialGuard{allowPrivate: opts.AllowPrivate, allow: opts.allowDial}
	dialer := &net.Dialer{
		Timeout:   opts.ConnectTimeout,
		KeepAlive: 30 * time.Second,
		Control:   guard.control,
	}
	transport := &http.Transport{
		// No proxy from the environment: through a proxy the guard would only
		// see the proxy's address, never the feed's.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    opts.ConnectTimeout,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		// The transport asks for gzip and decompresses it transparently; the
		// size cap applies to what it hands us, so a gzip bomb stops at the cap.
		DisableCompression: false,
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > opts.MaxRedirects {
				return errTooManyRedirects
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("redirect to a %s: URL", req.URL.Scheme)
			}
			return nil
		},
	}
	return &Fetcher{opts: opts, client: client, transport: transport}
}

// CloseIdleConnections closes kept-alive connections, and with them their
// goroutines. The poller calls it at the end of each round.
func (f *Fetcher) CloseIdleConnections() { f.transport.CloseIdleConnections() }

// Fetch downloads src's feed. A conditional GET is made when src has an ETag
// or Last-Modified from a previous poll. A failure is a *FeedError, except
// when ctx itself ends, which returns ctx's error.
func (f *Fetcher) Fetch(ctx context.Context, src Source) (*FetchResult, error) {
	u, err := url.Parse(src.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &FeedError{Reason: "not an http(s) URL", Err: err}
	}
	reqCtx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &FeedError{Reason: "not an http(s) URL", Err: err}
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json, "+
		"application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5")
	if src.ETag != "" {
		req.Header.Set("If-None-Match", src.ETag)
	}
	if src.LastModified != "" {
		req.Header.Set("If-Modified-Since", src.LastModified)
	}

	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.failure(ctx, reqCtx, err)
	}
	defer resp.Body.Close()

	res := &FetchResult{
		URL:          resp.Request.URL.String(),
		ContentType:  resp.Header.Get("Content-Type"),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
		MaxAge:       maxAge(resp.Header.Get("Cache-Control")),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		res.Status = FetchNotModified
		return res, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, statusError(resp)
	}

	limit := f.opts.MaxBytes
	if !resp.Uncompressed && resp.ContentLength > limit {
		return nil, f.tooLarge()
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, f.failure(ctx, reqCtx, err)
	}
	if int64(len(body)) > limit {
		return nil, f.tooLarge()
	}
	res.Status = FetchOK
	res.Body = body
	return res, nil
}

func (f *Fetcher) tooLarge() *FeedError {
	return &FeedError{Reason: "feed larger than " + byteSize(f.opts.MaxBytes)}
}

// failure turns a transport error into a FeedError with a short reason.
func (f *Fetcher) failure(parent, reqCtx context.Context, err error) error {
	if parent.Err() != nil {
		return parent.Err() // shutting down: not the feed's fault
	}
	var (
		private *privateAddrError
		dnsErr  *net.DNSError
		opErr   *net.OpError
		certErr *tls.CertificateVerificationError
		hostErr x509.HostnameError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.As(err, &private):
		return &FeedError{Reason: private.Error(), Err: err}
	case errors.Is(err, errTooManyRedirects):
		return &FeedError{Reason: "too many redirects", Err: err}
	case reqCtx.Err() != nil:
		return &FeedError{Reason: "timed out after " + f.opts.Timeout.String(), Err: err}
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return &FeedError{Reason: "host " + dnsErr.Name + " not found", Err: err}
		}
		return &FeedError{Reason: "DNS lookup of " + dnsErr.Name + " failed", Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &FeedError{Reason: "connection refused", Err: err}
	case errors.Is(err, syscall.ECONNRESET):
		return &FeedError{Reason: "connection reset by the server", Err: err}
	case errors.As(err, &hostErr):
		return &FeedError{Reason: "TLS certificate is not valid for " + hostErr.Host, Err: err}
	case errors.As(err, &certErr):
		return &FeedError{Reason: "TLS certificate not trusted", Err: err}
	case errors.As(err, &recErr):
		return &FeedError{Reason: "TLS handshake failed (is this an http:// site?)", Err: err}
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		return &FeedError{Reason: "timed out connecting", Err: err}
	case isTimeout(err):
		return &FeedError{Reason: "timed out", Err: err}
	}
	return &FeedError{Reason: "request failed: " + oneLine(innermost(err).Error()), Err: err}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// innermost unwraps err to the error that started it, whose message is
// usually the one worth showing ("unexpected EOF", "gzip: invalid header").
func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// statusError describes an unsuccessful HTTP status, with Retry-After for
// the statuses that carry it.
func statusError(resp *http.Response) *FeedError {
	reason := "HTTP " + strconv.Itoa(resp.StatusCode)
	if text := http.StatusText(resp.StatusCode); text != "" {
		reason += " " + text
	}
	e := &FeedError{Reason: reason}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), resp.Header.Get("Date"), time.Now())
		if e.RetryAfter > 0 {
			e.Reason += " (retry after " + e.RetryAfter.String() + ")"
		}
	}
	return e
}

// retryAfter reads a Retry-After value: delay seconds or an HTTP date. A date
// is measured from the response's own Date header when there is one, so the
// two clocks involved are the server's.
func retryAfter(value, date string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if n, err := strconv.ParseInt(value, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(n) * time.Second
	}
	at, err := http.ParseTime(value)
	if err != nil {
		return 0
	}
	if d, err := http.ParseTime(date); err == nil {
		now = d
	}
	return min(max(at.Sub(now), 0), maxRetryAfter)
}

// maxRetryAfter bounds how long a server can park a feed with Retry-After.
const maxRetryAfter = 7 * 24 * time.Hour

// maxAge reads the max-age directive of a Cache-Control header; no-store and
// no-cache mean no minimum.
func maxAge(cacheControl string) time.Duration {
	var age time.Duration
	for _, dir := range strings.Split(cacheControl, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "no-store", "no-cache":
			return 0
		case "max-age":
			n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
			if err == nil && n > 0 {
				age = time.Duration(min(n, int64(maxRetryAfter/time.Second))) * time.Second
			}
		}
	}
	return age
}

// byteSize writes n in the largest binary unit that divides it ("10 MiB").
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// oneLine keeps an error message to one short line for LastError.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 200 {
		s = string(r[:199]) + "…"
	}
	return s
}
