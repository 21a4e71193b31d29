package views

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a fake clock for the page cache.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestCache(maxBytes int) (*pageCache, *clock) {
	clk := &clock{t: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	return newPageCache(maxBytes, 30*time.Second, clk.now), clk
}

// counter renders a body and counts how often it was asked to.
type counter struct {
	n    atomic.Int32
	body atomic.Value // string
}

func (c *counter) render(context.Context) (rendered, error) {
	c.n.Add(1)
	b, _ := c.body.Load().(string)
	return rendered{body: []byte(b), contentType: "text/plain"}, nil
}

func TestCacheMaxAgeAndLastModified(t *testing.T) {
	c, clk := newTestCache(1 << 20)
	var r counter
	r.body.Store("one")
	ctx := context.Background()
	first, _ := c.load(ctx, "/", r.render)
	clk.add(29 * time.Second)
	if p, _ := c.load(ctx, "/", r.render); p != first || r.n.Load() != 1 {
		t.Fatalf("re-rendered within max age: %d renders", r.n.Load())
	}
	// Past the max age the page is rendered again; unchanged, it keeps its
	// validators and Last-Modified.
	clk.add(2 * time.Second)
	again, _ := c.load(ctx, "/", r.render)
	if r.n.Load() != 2 || again.etag != first.etag || !again.modified.Equal(first.modified) {
		t.Errorf("after max age: %d renders, etag %s→%s, modified %v→%v", r.n.Load(), first.etag, again.etag, first.modified, again.modified)
	}
	// Changed, it gets a new ETag and Last-Modified.
	r.body.Store("two")
	c.invalidate()
	changed, _ := c.load(ctx, "/", r.render)
	if r.n.Load() != 3 || changed.etag == first.etag || !changed.modified.After(first.modified) || string(changed.body) != "two" {
		t.Errorf("after invalidate: %d renders, %q", r.n.Load(), changed.body)
	}
}

func TestCacheRendersOnceForConcurrentMisses(t *testing.T) {
	c, _ := newTestCache(1 << 20)
	release := make(chan struct{})
	var renders atomic.Int32
	render := func(context.Context) (rendered, error) {
		renders.Add(1)
		<-release
		return rendered{body: []byte("page")}, nil
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if p, err := c.load(context.Background(), "/", render); err != nil || string(p.body) != "page" {
				t.Errorf("load: %v", err)
			}
		})
	}
	// Wait until the first rendering is under way, then let it finish: every
	// other load either waited on it or found its result in the cache.
	for renders.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if renders.Load() != 1 {
		t.Errorf("%d renders for 16 concurrent loads, want 1", renders.Load())
	}
}

func TestCacheDoesNotKeepErrors(t *testing.T) {
	c, _ := newTestCache(1 << 20)
	fail := errors.New("store down")
	calls := 0
	render := func(context.Context) (rendered, error) {
		calls++
		if calls == 1 {
			return rendered{}, fail
		}
		return rendered{body: []byte("ok")}, nil
	}
	if _, err := c.load(context.Background(), "/", render); !errors.Is(err, fail) {
		t.Fatalf("first load: %v", err)
	}
	if p, err := c.load(context.Background(), "/", render); err != nil || string(p.body) != "ok" {
		t.Fatalf("second load: %v", err)
	}
}

func TestCacheInvalidateDuringRender(t *testing.T) {
	c, _ := newTestCache(1 << 20)
	var r counter
	r.body.Store("old")
	render := func(ctx context.Context) (rendered, error) {
		out, err := r.render(ctx)
		if r.n.Load() == 1 {
			c.invalidate() // the store changed while this page was being read
		}
		return out, err
	}
	c.load(context.Background(), "/", render)
	c.load(context.Background(), "/", render)
	if r.n.Load() != 2 {
		t.Errorf("a page rendered across an invalidation was served from the cache")
	}
}

func TestCacheIsBoundedByBytes(t *testing.T) {
	page := strings.Repeat("x", 10_000)
	c, _ := newTestCache(100_000)
	render := func(context.Context) (rendered, error) { return rendered{body: []byte(page)}, nil }
	for i := range 50 {
		c.load(context.Background(), "/?page="+strings.Repeat("1", i+1), render)
	}
	pages, size := c.len()
	if size > 100_000 || pages == 0 || pages >= 50 {
		t.Errorf("%d pages, %d bytes in a 100 kB cache", pages, size)
	}
	// The most recent page is still there, the oldest is gone.
	c.mu.Lock()
	_, newest := c.byKey["/?page="+strings.Repeat("1", 50)]
	_, oldest := c.byKey["/?page=1"]
	c.mu.Unlock()
	if !newest || oldest {
		t.Errorf("LRU order: newest kept %v, oldest kept %v", newest, oldest)
	}
	// A page bigger than a quarter of the budget is served but not kept.
	huge := func(context.Context) (rendered, error) { return rendered{body: make([]byte, 30_000)}, nil }
	if p, err := c.load(context.Background(), "/huge", huge); err != nil || len(p.body) != 30_000 {
		t.Fatal(err)
	}
	c.mu.Lock()
	_, kept := c.byKey["/huge"]
	c.mu.Unlock()
	if kept {
		t.Error("a huge page was cached")
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"gzip": true, "gzip, deflate, br": true, "br;q=1.0, gzip;q=0.8": true, "*": true, "x-gzip": true,
		"": false, "identity": false, "gzip;q=0": false, "gzip; q=0.000": false, "br": false, "gzip;q=0.5": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v", h, got)
		}
	}
}

// TestCacheBoundsRenders: with every render slot taken, another page waits
// renderWait and is answered "busy" (a 503 once mapped), or with its stale
// copy when it has one; the slot freed, it renders again.
func TestCacheBoundsRenders(t *testing.T) {
	c, clk := newTestCache(1 << 20)
	c.renderWait = 50 * time.Millisecond
	ctx := context.Background()
	if _, err := c.load(ctx, "old", func(context.Context) (rendered, error) {
		return rendered{body: []byte("old page"), contentType: "text/plain"}, nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute) // "old" is stale now

	release := make(chan struct{})
	var busy sync.WaitGroup
	for i := range cap(c.slots) {
		busy.Go(func() {
			c.load(ctx, "slow"+string(rune('a'+i)), func(context.Context) (rendered, error) {
				<-release
				return rendered{body: []byte("slow"), contentType: "text/plain"}, nil
			})
		})
	}
	for deadline := time.Now().Add(5 * time.Second); len(c.slots) < cap(c.slots); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			close(release)
			t.Fatalf("%d of %d render slots taken by %d slow renders", len(c.slots), cap(c.slots), cap(c.slots))
		}
	}
	fresh := &counter{}
	fresh.body.Store("new page")
	if _, err := c.load(ctx, "new", fresh.render); !errors.Is(err, context.DeadlineExceeded) || fresh.n.Load() != 0 {
		t.Errorf("with every slot taken: %v after %d renders, want a busy error and none", err, fresh.n.Load())
	}
	if p, err := c.load(ctx, "old", fresh.render); err != nil || string(p.body) != "old page" {
		t.Errorf("with every slot taken, a page with a stale copy: %v, want the stale copy", err)
	}
	close(release)
	busy.Wait()
	if p, err := c.load(ctx, "new", fresh.render); err != nil || string(p.body) != "new page" {
		t.Errorf("once slots are free: %v %v", err, p)
	}
}
