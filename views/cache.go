package views

import (
	"container/list"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

const (
	// cacheBytes bounds the memory the page cache holds: bodies, their gzipped
	// copies and keys. A rendered list page is about 20 KB (5 KB gzipped).
	cacheBytes = 32 << 20
	// cacheMaxAge is how long a cached page is served before it is rendered
	// again even though nobody called Invalidate.
	cacheMaxAge = 30 * time.Second
	// renderTimeout bounds one rendering, which is not tied to the request that
	// started it: others may be waiting for the same page.
	renderTimeout = 10 * time.Second
	// renderWait bounds the wait for a render slot (pageCache.slots): an
	// overloaded site answers "too busy" (or the stale page) at once rather
	// than queueing requests, and their memory, without end.
	renderWait = 2 * time.Second
)

// renderSlots is how many renderings may run at once: rendering is CPU and
// store work, so a few per core keep both busy.
func renderSlots() int { return max(8, 4*runtime.GOMAXPROCS(0)) }

// rendered is what a page handler produces for the cache.
type rendered struct {
	body        []byte
	contentType string
	// canonical, when set, is the only path the page is served at; any other
	// path for the same key is redirected there (a story's slug URL).
	canonical string
	// comments lists the comments a story page shows, so that a returning
	// author whose comment was approved elsewhere is not shown a stale page.
	comments []int64
}

// cachedPage is a rendered page with everything needed to answer for it
// without the store: both encodings, validators and freshness.
type cachedPage struct {
	rendered
	key string
	gz  []byte // the whole gzip member, for a page without slots
	// parts is the body split at each slot (see slot.go): one part when
	// the page has none. segs are their DEFLATE segments and crc0 the
	// CRC-32 of the first part, for a page with slots.
	parts    [][]byte
	segs     [][]byte
	crc0     uint32
	etag     string    // strong validator of body, quoted
	modified time.Time // when a body with this etag was first rendered
	at       time.Time // when it was rendered
	gen      uint64    // cache generation it was rendered in
}

func (p *cachedPage) size() int {
	n := len(p.key) + len(p.body) + len(p.gz) + len(p.contentType) + len(p.canonical) + 8*len(p.comments) + 200
	if p.slotted() {
		for i := range p.parts {
			n += len(p.parts[i]) + len(p.segs[i]) + 48
		}
	}
	return n
}

// pageCache is a least-recently-used cache of rendered pages, bounded by
// bytes, keyed by the canonical form of a request (path plus the query
// parameters the page reads, so junk parameters cannot flood it). Concurrent
// misses for one key render once.
type pageCache struct {
	maxBytes int
	maxAge   time.Duration
	now      func() time.Time

	mu      sync.Mutex
	bytes   int
	gen     uint64
	lru     *list.List // of *cachedPage, most recently used first
	byKey   map[string]*list.Element
	flights map[string]*flight

	slots      chan struct{} // one token for each rendering under way
	renderWait time.Duration
}

// flight is one rendering in progress that others for the same key wait on.
type flight struct {
	done chan struct{}
	page *cachedPage
	err  error
}

func newPageCache(maxBytes int, maxAge time.Duration, now func() time.Time) *pageCache {
	return &pageCache{
		maxBytes: maxBytes, maxAge: maxAge, now: now,
		lru: list.New(), byKey: map[string]*list.Element{}, flights: map[string]*flight{},
		slots: make(chan struct{}, renderSlots()), renderWait: renderWait,
	}
}

// invalidate makes every cached page stale and forgets renderings in flight,
// which may have read the store before the change.
func (c *pageCache) invalidate() {
	c.mu.Lock()
	c.gen++
	c.flights = map[string]*flight{}
	c.mu.Unlock()
}

// fresh reports whether p may be served as it is; c.mu is held.
func (c *pageCache) fresh(p *cachedPage) bool {
	return p.gen == c.gen && c.now().Sub(p.at) < c.maxAge
}

// load returns the page for key, from the cache when it is fresh, otherwise
// rendered by render (once, however many requests ask at the same moment).
// Errors are not cached. When the store cannot be reached, or the site is
// too busy to render in time, the page last rendered for key, however stale,
// is served instead of the error: readers keep the pages they were reading
// through an outage, and the next request tries to render again.
func (c *pageCache) load(ctx context.Context, key string, render func(context.Context) (rendered, error)) (*cachedPage, error) {
	c.mu.Lock()
	if el, ok := c.byKey[key]; ok && c.fresh(el.Value.(*cachedPage)) {
		c.lru.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*cachedPage), nil
	}
	if f, ok := c.flights[key]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.page, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	gen := c.gen
	c.mu.Unlock()

	stale := false
	defer func() {
		c.mu.Lock()
		if c.flights[key] == f {
			delete(c.flights, key)
		}
		if f.err == nil && f.page != nil && !stale {
			c.store(f.page)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.err = errRenderPanicked // replaced unless render panics
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
	defer cancel()
	r, err := c.renderBounded(rctx, render)
	if err != nil {
		if p := c.staleFor(key, err); p != nil {
			stale, f.page, f.err = true, p, nil
			return p, nil
		}
		f.err = err
		return nil, err
	}
	f.page, f.err = c.finish(key, r, gen), nil
	return f.page, nil
}

// errBusy is a rendering that found no free slot in time.
var errBusy = fmt.Errorf("views: every render slot stayed taken: %w", context.DeadlineExceeded)

// renderBounded runs render once a render slot is free; after c.renderWait
// without one, it gives up with errBusy.
func (c *pageCache) renderBounded(ctx context.Context, render func(context.Context) (rendered, error)) (rendered, error) {
	wait := time.NewTimer(c.renderWait)
	defer wait.Stop()
	select {
	case c.slots <- struct{}{}:
	case <-wait.C:
		return rendered{}, errBusy
	case <-ctx.Done():
		return rendered{}, ctx.Err()
	}
	defer func() { <-c.slots }()
	return render(ctx)
}

// staleFor returns the page cached for key, fresh or stale, when err says
// the store cannot be reached or the site is too busy; nil otherwise.
func (c *pageCache) staleFor(key string, err error) *cachedPage {
	if !tryLater(err) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		return el.Value.(*cachedPage)
	}
	return nil
}

// errRenderPanicked is what waiters get when the rendering they waited on
// panicked.
var errRenderPanicked = echo.NewHTTPError(http.StatusInternalServerError, "rendering failed")

// finish computes a rendered page's validators and gzipped copy, or its
// parts and segments when it has slots.
func (c *pageCache) finish(key string, r rendered, gen uint64) *cachedPage {
	p := &cachedPage{rendered: r, key: key, gen: gen}
	p.splitSlots()
	p.at = c.now()
	p.modified = p.at.Truncate(time.Second)
	return p
}

// store puts p in the cache, keeping the Last-Modified time of the page it
// replaces when the body did not change, and evicts the least recently used
// pages beyond the byte budget; c.mu is held.
func (c *pageCache) store(p *cachedPage) {
	if el, ok := c.byKey[p.key]; ok {
		old := el.Value.(*cachedPage)
		if old.etag == p.etag && old.modified.Before(p.modified) {
			p.modified = old.modified
		}
		c.bytes -= old.size()
		c.lru.Remove(el)
		delete(c.byKey, p.key)
	}
	if p.size() > c.maxBytes/4 {
		return // served, but too big to keep
	}
	c.byKey[p.key] = c.lru.PushFront(p)
	c.bytes += p.size()
	for c.bytes > c.maxBytes {
		el := c.lru.Back()
		old := el.Value.(*cachedPage)
		c.bytes -= old.size()
		c.lru.Remove(el)
		delete(c.byKey, old.key)
	}
}

// lacks reports whether the page cached for key, fresh or stale, lacks one
// of the comments ids; false when no page is cached for key.
func (c *pageCache) lacks(key string, ids []int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return false
	}
	shown := el.Value.(*cachedPage).comments
	for _, id := range ids {
		if !slices.Contains(shown, id) {
			return true
		}
	}
	return false
}

// len reports how many pages are cached and their size in bytes.
func (c *pageCache) len() (pages, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}

// cached answers a GET for key from the page cache, rendering it with render
// when needed. It answers conditional requests with 304 and sends the gzipped
// copy to clients that accept it.
func (s *Server) cached(c echo.Context, key string, render func(context.Context) (rendered, error)) error {
	p, err := s.cache.load(c.Request().Context(), key, render)
	if err != nil {
		return err
	}
	return servePage(c, p, s.forms.value)
}

// servePage writes p, or a redirect to its canonical path, or a 304. slot
// gives the value of p's slots, if it has any.
func servePage(c echo.Context, p *cachedPage, slot func() []byte) error {
	req := c.Request()
	if p.canonical != "" && req.URL.EscapedPath() != p.canonical {
		return c.Redirect(http.StatusMovedPermanently, p.canonical)
	}
	h := c.Response().Header()
	h.Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
	h.Set("Cache-Control", "public, no-cache")
	gz := acceptsGzip(req.Header.Get(echo.HeaderAcceptEncoding))
	etag := p.etag
	if gz {
		// A different validator per encoding, as a byte-range cache needs.
		etag = strings.TrimSuffix(p.etag, `"`) + `-gz"`
	}
	h.Set("ETag", etag)
	h.Set(echo.HeaderLastModified, p.modified.UTC().Format(http.TimeFormat))
	if notModified(req, p) {
		return c.NoContent(http.StatusNotModified)
	}
	if p.slotted() {
		return writeSlotted(c, p, gz, slot())
	}
	body := p.body
	if gz {
		h.Set(echo.HeaderContentEncoding, "gzip")
		body = p.gz
	}
	h.Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(http.StatusOK, p.contentType, body)
}

// notModified reports whether the client's copy of p is current: If-None-Match
// when given (either encoding's validator matches), else If-Modified-Since.
func notModified(req *http.Request, p *cachedPage) bool {
	if inm := req.Header.Get("If-None-Match"); inm != "" {
		bare := strings.Trim(p.etag, `"`)
		for _, t := range strings.Split(inm, ",") {
			t = strings.Trim(strings.TrimPrefix(strings.TrimSpace(t), "W/"), `"`)
			if t == "*" || t == bare || t == bare+"-gz" {
				return true
			}
		}
		return false
	}
	if ims := req.Header.Get("If-Modified-Since"); ims != "" {
		if t, err := http.ParseTime(ims); err == nil {
			return !p.modified.After(t)
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip: listed
// by name (or as *) without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if strings.HasPrefix(q, "q=0") && strings.Trim(strings.TrimPrefix(q, "q="), "0.") == "" {
			continue
		}
		return true
	}
	return false
}
