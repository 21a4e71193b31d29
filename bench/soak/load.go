package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings/comments"
)

// kind is one sort of request of the mix.
type kind int

const (
	kindRead kind = iota
	kindSearch
	kindComment
	kindSubscribe
	nKinds
)

var kindNames = [nKinds]string{"read", "search", "comment", "subscribe"}

// pick chooses the kind of the next request: 70% page reads, 15%
// searches, 10% comment posts, 5% subscriptions.
func pick(rng *rand.Rand) kind {
	switch n := rng.IntN(100); {
	case n < 70:
		return kindRead
	case n < 85:
		return kindSearch
	case n < 95:
		return kindComment
	default:
		return kindSubscribe
	}
}

// loader makes the requests of the mix against one site.
type loader struct {
	origin string
	site   site
	client *http.Client
	rec    *recorder
	form   atomic.Pointer[formTokens]
	seq    atomic.Int64 // numbers clients, commenters and subscribers
	// canonical maps a story ID to its canonical path, learnt from the
	// redirect of /stories/ID.
	canonical sync.Map
	start     int64 // unique per run, in addresses
}

// formTokens are the hidden fields of a served comment form, usable once
// comments.MinFormTime has passed since it was served.
type formTokens struct{ csrf, ts string }

var (
	csrfRe = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)
	tsRe   = regexp.MustCompile(`<input type="hidden" name="ts" value="([^"]+)">`)
)

func newLoader(origin string, s site, rec *recorder) *loader {
	return &loader{
		origin: origin, site: s, rec: rec, start: time.Now().Unix(),
		client: &http.Client{
			Timeout: 30 * time.Second,
			Transport: &http.Transport{
				MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: 30 * time.Second,
				DisableCompression: false,
			},
			// Redirects are answers to count, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// refreshForm fetches a story page, waits until its comment form may be
// sent back without looking like a robot, and keeps its hidden fields.
func (l *loader) refreshForm(ctx context.Context) error {
	id := l.site.stories[len(l.site.stories)-1]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/stories/%d", l.origin, id), nil)
	if err != nil {
		return err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode/100 == 3 && loc != "" {
		resp.Body.Close()
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, l.origin+loc, nil); err != nil {
			return err
		}
		if resp, err = l.client.Do(req); err != nil {
			return err
		}
	}
	page, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	csrf, ts := csrfRe.FindSubmatch(page), tsRe.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || csrf == nil || ts == nil {
		return fmt.Errorf("story page %d: %s, no comment form in it", id, resp.Status)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(comments.MinFormTime + time.Second):
	}
	l.form.Store(&formTokens{csrf: string(csrf[1]), ts: string(ts[1])})
	return nil
}

// learnCanonical asks for every story at /stories/ID, as links from
// elsewhere do, and keeps the canonical path each is redirected to: the
// links on the site's own pages, which readers mostly follow.
func (l *loader) learnCanonical(ctx context.Context) error {
	ids := make(chan int64)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for id := range ids {
				req, err := http.NewRequestWithContext(ctx, http.MethodHead, fmt.Sprintf("%s/stories/%d", l.origin, id), nil)
				if err != nil {
					errs <- err
					return
				}
				resp, err := l.client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				resp.Body.Close()
				loc := resp.Header.Get("Location")
				if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/stories/") {
					errs <- fmt.Errorf("HEAD /stories/%d: %s, Location %q", id, resp.Status, loc)
					return
				}
				l.canonical.Store(id, loc)
			}
		})
	}
	var err error
	for _, id := range l.site.stories {
		select {
		case ids <- id:
			continue
		case err = <-errs:
		}
		break
	}
	close(ids)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return err
}

// keepFormFresh refreshes the form fields every minute until ctx ends.
func (l *loader) keepFormFresh(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Minute):
		}
		_ = l.refreshForm(ctx) // on failure the fields in hand stay valid for hours
	}
}

// do makes one request of kind k, due at due, and records its answer and
// the time from due to the end of its body.
func (l *loader) do(ctx context.Context, k kind, rng *rand.Rand, due time.Time) {
	req, err := l.request(ctx, k, rng)
	if err != nil {
		l.rec.fail(k, due, err)
		return
	}
	resp, err := l.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			l.rec.fail(k, due, err)
		}
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		l.rec.fail(k, due, err)
		return
	}
	if id, ok := req.Context().Value(storyKey{}).(int64); ok && resp.StatusCode/100 == 3 {
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, "/stories/") {
			l.canonical.Store(id, loc)
		}
	}
	l.rec.done(k, req.Method+" "+route(req.URL.Path), resp.StatusCode, due)
}

// storyKey marks a story read in its request's context with the story's ID.
type storyKey struct{}

// request builds the next request of kind k.
func (l *loader) request(ctx context.Context, k kind, rng *rand.Rand) (*http.Request, error) {
	s := l.site
	switch k {
	case kindSearch:
		return http.NewRequestWithContext(ctx, http.MethodGet, l.origin+"/search?q="+url.QueryEscape(searchText(rng)), nil)
	case kindComment:
		f := l.form.Load()
		if f == nil {
			return nil, errors.New("no comment form fetched yet")
		}
		n := l.seq.Add(1)
		v := url.Values{"csrf": {f.csrf}, "ts": {f.ts}, "website2": {""}, "comment": {commentText(rng)}}
		if rng.IntN(100) < 15 {
			a := s.returning[rng.IntN(len(s.returning))] // published at once: the page cache is emptied
			v.Set("author", a.name)
			v.Set("email", a.email)
		} else {
			v.Set("author", fmt.Sprintf("Soak Reader %d", n))
			v.Set("email", fmt.Sprintf("soak-%d-%d@example.net", l.start, n))
			if rng.IntN(3) == 0 {
				v.Set("url", fmt.Sprintf("https://blog%d.example.net/", n%50))
			}
		}
		id := s.stories[len(s.stories)-1-rng.IntN(min(200, len(s.stories)))] // discussions are on recent stories
		return l.post(ctx, fmt.Sprintf("/stories/%d/comments", id), v, n)
	case kindSubscribe:
		f := l.form.Load()
		if f == nil {
			return nil, errors.New("no form token fetched yet")
		}
		n := l.seq.Add(1)
		v := url.Values{"csrf": {f.csrf}, "page": {"/subscribe"}, "email": {fmt.Sprintf("sub-%d-%d@example.com", l.start, n)}}
		return l.post(ctx, "/subscribe", v, n)
	}
	return l.readRequest(ctx, rng)
}

// post builds a form POST from client number n: each its own /64, as
// the site takes X-Forwarded-For from its trusted proxy.
func (l *loader) post(ctx context.Context, path string, v url.Values, n int64) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.origin+path, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("2001:db8:%x:%x::7", (n>>16)&0xffff, n&0xffff))
	return req, nil
}

// readRequest is a page read: mostly story pages and the home page, then
// topic and source lists, feeds and a few other pages.
func (l *loader) readRequest(ctx context.Context, rng *rand.Rand) (*http.Request, error) {
	s := l.site
	var path string
	switch n := rng.IntN(70); {
	case n < 14:
		path = "/"
	case n < 18:
		pages := (len(s.stories) + 29) / 30 // 30 stories a page
		path = "/?page=" + strconv.Itoa(2+rng.IntN(max(1, min(20, pages-1))))
	case n < 48:
		// Readers favour recent stories: half the reads go to the newest 100.
		i := rng.IntN(len(s.stories))
		if rng.IntN(2) == 0 {
			i = len(s.stories) - 1 - rng.IntN(min(100, len(s.stories)))
		}
		id := s.stories[i]
		path = fmt.Sprintf("/stories/%d", id)
		if p, ok := l.canonical.Load(id); ok && rng.IntN(10) != 0 {
			path = p.(string)
		}
		ctx = context.WithValue(ctx, storyKey{}, id)
	case n < 56:
		path = "/topics/" + s.tags[rng.IntN(len(s.tags))]
		if rng.IntN(4) == 0 {
			path += "?page=2"
		}
	case n < 61:
		path = fmt.Sprintf("/sources/%d", s.sources[rng.IntN(len(s.sources))])
	case n < 67:
		feeds := []string{"/feed.xml", "/atom.xml", "/feed.json", "/topics/" + s.tags[rng.IntN(len(s.tags))] + "/feed.xml",
			fmt.Sprintf("/stories/%d/comments.xml", s.stories[len(s.stories)-1-rng.IntN(40)])}
		path = feeds[rng.IntN(len(feeds))]
	default:
		path = []string{"/subscribe", "/sitemap.xml", "/newsletter", "/robots.txt"}[rng.IntN(4)]
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.origin+path, nil)
	if err == nil && rng.IntN(4) == 0 {
		req.Header.Set("Accept-Encoding", "identity") // most clients take gzip, some do not
	}
	return req, err
}

// route names a path by its pattern, for the table of answers by route.
func route(p string) string {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case p == "/":
		return "/"
	case parts[0] == "stories" && len(parts) == 2:
		return "/stories/:id"
	case parts[0] == "stories" && len(parts) == 3 && (parts[2] == "comments" || parts[2] == "comments.xml"):
		return "/stories/:id/" + parts[2]
	case parts[0] == "stories":
		return "/stories/:id/:slug"
	case parts[0] == "topics" && len(parts) == 2:
		return "/topics/:tag"
	case parts[0] == "topics":
		return "/topics/:tag/" + parts[len(parts)-1]
	case parts[0] == "sources":
		return "/sources/:id"
	}
	return p
}

// searchText is what a reader types into the search box: one to three
// words of the stories' vocabulary, a phrase, a half-typed word, a word
// found nowhere, and now and then something odd (punctuation only, a
// very long query), which must get a clear 4xx page, never a 5xx.
func searchText(rng *rand.Rand) string {
	word := func() string { return searchWords[rng.IntN(len(searchWords))] }
	switch n := rng.IntN(100); {
	case n < 40:
		return word()
	case n < 65:
		return word() + " " + word()
	case n < 75:
		return word() + " " + word() + " " + word()
	case n < 83:
		return `"` + objects[rng.IntN(len(objects))] + `"`
	case n < 90:
		w := word()
		return w[:max(3, len(w)/2)] // as typed so far
	case n < 96:
		return fmt.Sprintf("zebra%d", rng.IntN(1000)) // no story has it
	default:
		return []string{"!!!", "the of and", strings.Repeat("privacy ", 80), "ünïcødé données", "-- ; DROP TABLE"}[rng.IntN(5)]
	}
}

var searchWords = strings.Fields(strings.ToLower(
	"encryption messaging tracking gdpr surveillance biometrics breach advertising children metadata " +
		"whatsapp google apple meta signal mozilla tiktok microsoft ftc commission regulator fined " +
		"location facial recognition backups scanning cookie consent voice recordings transfers monitoring " +
		"researchers hearing memo accounts opt-out privacy health fitness camera vpn school"))

// commentText is a comment of one or two paragraphs.
func commentText(rng *rand.Rand) string {
	p := sentences[rng.IntN(len(sentences))] + " " + sentences[rng.IntN(len(sentences))]
	if rng.IntN(3) == 0 {
		p += "\n\n" + sentences[rng.IntN(len(sentences))]
	}
	return p
}
