package newsletter_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/sqlite"
)

// now is the moment the test issues are composed: a Wednesday in 2026-W48.
var now = time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)

const baseURL = "https://news.example.org"

// fixture is a real SQLite store with a few sources.
type fixture struct {
	store   *sqlite.Store
	sources []feeds.Source
	ids     map[string]int64 // story key → ID
	n       int
}

func newFixture(t *testing.T, sources int) *fixture {
	t.Helper()
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	fx := &fixture{store: s, ids: map[string]int64{}}
	for i := range sources {
		src, err := s.AddSource(ctx, feeds.Source{
			URL:     fmt.Sprintf("https://outlet%d.example/feed", i),
			Title:   fmt.Sprintf("Outlet %d", i),
			SiteURL: fmt.Sprintf("https://outlet%d.example/", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		fx.sources = append(fx.sources, src)
	}
	return fx
}

// spec describes a story to store.
type spec struct {
	key       string
	source    int           // index into fixture.sources
	rel       float64       // relevance
	age       time.Duration // before now
	hidden    bool
	clusterOf string // key of the leader it follows, or ""
	title     string // default: "Story <key>"
	url       string // default: a unique article URL
	summary   string
	tags      []string
}

func (fx *fixture) add(t *testing.T, sp spec) feeds.Story {
	t.Helper()
	fx.n++
	st := feeds.Story{
		SourceID:    fx.sources[sp.source].ID,
		GUID:        fmt.Sprintf("test:%d", fx.n),
		URL:         sp.url,
		Title:       sp.title,
		Summary:     sp.summary,
		PublishedAt: now.Add(-sp.age),
		FirstSeenAt: now.Add(-sp.age),
		Relevance:   sp.rel,
		Tags:        sp.tags,
		Visible:     !sp.hidden,
	}
	if st.URL == "" {
		st.URL = fmt.Sprintf("https://outlet%d.example/articles/%d", sp.source, fx.n)
	}
	if st.Title == "" {
		st.Title = "Story " + sp.key
	}
	if st.Summary == "" {
		st.Summary = "What happened in story " + sp.key + ", told in a sentence or two."
	}
	if sp.clusterOf != "" {
		leader, ok := fx.ids[sp.clusterOf]
		if !ok {
			t.Fatalf("story %q follows unknown %q", sp.key, sp.clusterOf)
		}
		st.ClusterID = leader
	}
	got, created, err := fx.store.AddStory(t.Context(), st)
	if err != nil || !created {
		t.Fatalf("AddStory(%q) = %v, %v", sp.key, created, err)
	}
	fx.ids[sp.key] = got.ID
	return got
}

// keys turns an issue's story IDs back into spec keys.
func (fx *fixture) keys(ids []int64) []string {
	var out []string
	for _, id := range ids {
		for k, v := range fx.ids {
			if v == id {
				out = append(out, k)
			}
		}
	}
	return out
}

// comments is a CommentCounter over a fixed map of story keys.
type comments struct {
	fx     *fixture
	counts map[string]int
}

func (c comments) CommentCounts(_ context.Context, ids []int64) (map[int64]int, error) {
	out := map[int64]int{}
	for k, n := range c.counts {
		if id := c.fx.ids[k]; slices.Contains(ids, id) {
			out[id] = n
		}
	}
	return out, nil
}

const (
	hour = time.Hour
	day  = 24 * time.Hour
)

// Each case shows one factor of the ranking or one rule of selection at work.
func TestComposeRanking(t *testing.T) {
	for _, c := range []struct {
		name     string
		stories  []spec
		comments map[string]int
		count    int
		perSrc   int
		want     []string
	}{{
		name: "breadth: three outlets beat one, same day and relevance",
		stories: []spec{
			{key: "wide", source: 0, rel: 0.6, age: 20 * hour},
			{key: "wide-b", source: 1, rel: 0.3, age: 19 * hour, clusterOf: "wide", hidden: true},
			{key: "wide-c", source: 2, rel: 0.7, age: 18 * hour, clusterOf: "wide"},
			{key: "lone", source: 3, rel: 0.6, age: 2 * hour}, // fresher, alone
		},
		want: []string{"wide", "lone"},
	}, {
		name: "breadth counts outlets, not articles",
		stories: []spec{
			{key: "repeat", source: 0, rel: 0.6, age: 20 * hour},
			{key: "repeat-2", source: 1, rel: 0.6, age: 19 * hour, clusterOf: "repeat"},
			{key: "repeat-3", source: 1, rel: 0.6, age: 18 * hour, clusterOf: "repeat"},
			{key: "repeat-4", source: 1, rel: 0.6, age: 17 * hour, clusterOf: "repeat"},
			{key: "pair", source: 2, rel: 0.6, age: 2 * hour},
			{key: "pair-2", source: 3, rel: 0.6, age: 1 * hour, clusterOf: "pair"},
		},
		// Both clusters span two outlets; the fresher one wins.
		want: []string{"pair", "repeat"},
	}, {
		name: "recency: a 6-day-old story loses to a fresh one",
		stories: []spec{
			{key: "old", source: 0, rel: 0.7, age: 6 * day},
			{key: "fresh", source: 1, rel: 0.7, age: hour},
		},
		want: []string{"fresh", "old"},
	}, {
		name: "relevance outweighs recency",
		stories: []spec{
			{key: "fresh-weak", source: 0, rel: 0.55, age: hour},
			{key: "old-strong", source: 1, rel: 0.95, age: 6 * day},
			{key: "mid", source: 2, rel: 0.75, age: 3 * day},
		},
		want: []string{"old-strong", "mid", "fresh-weak"},
	}, {
		name: "comments: a discussed story beats a quiet one",
		stories: []spec{
			{key: "discussed", source: 0, rel: 0.6, age: 2 * day},
			{key: "quiet", source: 1, rel: 0.6, age: 2*day - 3*hour},
		},
		comments: map[string]int{"discussed": 5},
		want:     []string{"discussed", "quiet"},
	}, {
		name: "without comments the fresher of equals leads",
		stories: []spec{
			{key: "discussed", source: 0, rel: 0.6, age: 2 * day},
			{key: "quiet", source: 1, rel: 0.6, age: 2*day - 3*hour},
		},
		want: []string{"quiet", "discussed"},
	}, {
		name: "per-source cap",
		stories: []spec{
			{key: "a1", source: 0, rel: 0.99, age: hour},
			{key: "a2", source: 0, rel: 0.98, age: hour},
			{key: "a3", source: 0, rel: 0.97, age: hour},
			{key: "a4", source: 0, rel: 0.96, age: hour},
			{key: "b1", source: 1, rel: 0.4, age: 5 * day},
		},
		want: []string{"a1", "a2", "b1"},
	}, {
		name: "per-source cap of one",
		stories: []spec{
			{key: "a1", source: 0, rel: 0.99, age: hour},
			{key: "a2", source: 0, rel: 0.98, age: hour},
			{key: "b1", source: 1, rel: 0.4, age: 5 * day},
		},
		perSrc: 1,
		want:   []string{"a1", "b1"},
	}, {
		name: "hidden, followers and stories outside the week are left out",
		stories: []spec{
			{key: "in", source: 0, rel: 0.5, age: 3 * day},
			{key: "edge", source: 1, rel: 0.5, age: 7*day - time.Second},
			{key: "hidden", source: 2, rel: 0.99, age: hour, hidden: true},
			{key: "follower", source: 3, rel: 0.99, age: hour, clusterOf: "in"},
			{key: "too-old", source: 4, rel: 0.99, age: 7*day + time.Second},
			{key: "future", source: 5, rel: 0.99, age: -time.Second},
			{key: "now", source: 5, rel: 0.99, age: 0}, // Until is excluded
		},
		want: []string{"in", "edge"},
	}, {
		name: "count",
		stories: []spec{
			{key: "s1", source: 0, rel: 0.9, age: hour},
			{key: "s2", source: 1, rel: 0.8, age: hour},
			{key: "s3", source: 2, rel: 0.7, age: hour},
			{key: "s4", source: 3, rel: 0.6, age: hour},
		},
		count: 3,
		want:  []string{"s1", "s2", "s3"},
	}} {
		t.Run(c.name, func(t *testing.T) {
			fx := newFixture(t, 6)
			for _, sp := range c.stories {
				fx.add(t, sp)
			}
			o := newsletter.ComposeOptions{BaseURL: baseURL, Count: c.count, PerSource: c.perSrc}
			if c.comments != nil {
				o.Comments = comments{fx, c.comments}
			}
			is, err := newsletter.Compose(t.Context(), fx.store, now, o)
			if err != nil {
				t.Fatal(err)
			}
			if got := fx.keys(is.StoryIDs); !slices.Equal(got, c.want) {
				t.Errorf("stories %v, want %v", got, c.want)
			}
		})
	}
}

func TestComposeDefaultsAndWindow(t *testing.T) {
	fx := newFixture(t, 8)
	for i := range 16 {
		fx.add(t, spec{key: fmt.Sprint(i), source: i % 8, rel: 0.5 + float64(i)/100, age: time.Duration(i) * hour})
	}
	is, err := newsletter.Compose(t.Context(), fx.store, now.In(time.FixedZone("X", -5*3600)), newsletter.ComposeOptions{BaseURL: baseURL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if len(is.StoryIDs) != 10 {
		t.Errorf("%d stories, want the default 10", len(is.StoryIDs))
	}
	if is.Week != "2026-W48" || !is.ComposedAt.Equal(now) || is.ComposedAt.Location() != time.UTC ||
		!is.Until.Equal(now) || !is.Since.Equal(now.Add(-7*day)) {
		t.Errorf("week %s composed %v covering [%v, %v)", is.Week, is.ComposedAt, is.Since, is.Until)
	}
	if !is.SendStartedAt.IsZero() || is.Planned || !is.SentAt.IsZero() {
		t.Errorf("a composed issue has send state: %+v", is)
	}
	if !strings.HasPrefix(is.Subject, "Tidings — 25 Nov 2026: ") {
		t.Errorf("subject %q", is.Subject)
	}
	if strings.Contains(is.HTML, baseURL+"//") {
		t.Error("the base URL's trailing slash was doubled")
	}
}

// countingStore counts the reads Compose makes of a real store.
type countingStore struct {
	feeds.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) count(name string) {
	c.mu.Lock()
	c.calls[name]++
	c.mu.Unlock()
}

func (c *countingStore) Stories(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error) {
	c.count("Stories")
	if f.Limit <= 0 {
		c.count("unbounded")
	}
	return c.Store.Stories(ctx, f)
}

func (c *countingStore) Story(ctx context.Context, id int64) (feeds.Story, error) {
	c.count("Story")
	return c.Store.Story(ctx, id)
}

func (c *countingStore) Source(ctx context.Context, id int64) (feeds.Source, error) {
	c.count("Source")
	return c.Store.Source(ctx, id)
}

func (c *countingStore) Sources(ctx context.Context, f feeds.SourceFilter) ([]feeds.Source, error) {
	c.count("Sources")
	return c.Store.Sources(ctx, f)
}

func TestComposeReadsAFewTimes(t *testing.T) {
	fx := newFixture(t, 8)
	for i := range 40 {
		sp := spec{key: fmt.Sprint(i), source: i % 8, rel: 0.5, age: time.Duration(i) * 3 * hour}
		if i%4 == 3 {
			sp.clusterOf = fmt.Sprint(i - 1)
		}
		fx.add(t, sp)
	}
	cs := &countingStore{Store: fx.store, calls: map[string]int{}}
	if _, err := newsletter.Compose(t.Context(), cs, now, newsletter.ComposeOptions{BaseURL: baseURL}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"Stories": 2, "Sources": 1}
	if fmt.Sprint(cs.calls) != fmt.Sprint(want) {
		t.Errorf("store calls %v, want %v", cs.calls, want)
	}
}

func TestComposeEmptyWeek(t *testing.T) {
	fx := newFixture(t, 1)
	fx.add(t, spec{key: "last-month", rel: 0.9, age: 30 * day})
	is, err := newsletter.Compose(t.Context(), fx.store, now, newsletter.ComposeOptions{SiteName: "Privacy Wire", BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	if len(is.StoryIDs) != 0 {
		t.Errorf("stories %v in an empty week", is.StoryIDs)
	}
	if is.Subject != "Privacy Wire — 25 Nov 2026" {
		t.Errorf("subject %q", is.Subject)
	}
	for name, body := range map[string]string{"HTML": is.HTML, "text": is.Text} {
		if !strings.Contains(body, "quiet week") || !strings.Contains(body, newsletter.UnsubscribePlaceholder) {
			t.Errorf("%s of an empty week:\n%s", name, body)
		}
	}
	checkHTML(t, is, nil)
	checkText(t, is)
}

func TestComposeDeterministic(t *testing.T) {
	fx := newFixture(t, 4)
	for i := range 12 {
		// Equal scores everywhere: ties must still break the same way.
		fx.add(t, spec{key: fmt.Sprint(i), source: i % 4, rel: 0.6, age: day, tags: []string{"surveillance", "encryption"}})
	}
	o := newsletter.ComposeOptions{BaseURL: baseURL, Comments: comments{fx, map[string]int{"3": 2}}}
	a, err := newsletter.Compose(t.Context(), fx.store, now, o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newsletter.Compose(t.Context(), fx.store, now, o)
	if err != nil {
		t.Fatal(err)
	}
	if a.HTML != b.HTML || a.Text != b.Text || a.Subject != b.Subject || !slices.Equal(a.StoryIDs, b.StoryIDs) {
		t.Error("composing twice gave two different issues")
	}
	if len(a.StoryIDs) != 8 { // 4 sources × 2
		t.Errorf("%d stories, want 8", len(a.StoryIDs))
	}
}

func TestComposeBadOptions(t *testing.T) {
	fx := newFixture(t, 1)
	for _, o := range []newsletter.ComposeOptions{
		{},
		{BaseURL: "news.example.org"},
		{BaseURL: "/relative"},
		{BaseURL: "javascript:alert(1)"},
		{BaseURL: "ftp://news.example.org"},
		{BaseURL: "https://news.example.org/?q=1"},
		{BaseURL: "https://user:pw@news.example.org"},
		{BaseURL: `https://news.example.org/"><script>`},
		{BaseURL: "https://news.example.org/" + newsletter.UnsubscribePlaceholder},
		{BaseURL: baseURL, Count: -1},
		{BaseURL: baseURL, Count: 1000},
		{BaseURL: baseURL, PerSource: -2},
	} {
		if _, err := newsletter.Compose(t.Context(), fx.store, now, o); err == nil || !strings.HasPrefix(err.Error(), "newsletter: ") {
			t.Errorf("Compose(%+v) error %v, want a newsletter error", o, err)
		}
	}
	if _, err := newsletter.Compose(t.Context(), fx.store, time.Time{}, newsletter.ComposeOptions{BaseURL: baseURL}); err == nil {
		t.Error("Compose at the zero time succeeded")
	}
	if _, err := newsletter.Compose(t.Context(), nil, now, newsletter.ComposeOptions{BaseURL: baseURL}); err == nil {
		t.Error("Compose without a store succeeded")
	}
}

type failingCounter struct{}

func (failingCounter) CommentCounts(context.Context, []int64) (map[int64]int, error) {
	return nil, fmt.Errorf("comments store down")
}

func TestComposeCommentError(t *testing.T) {
	fx := newFixture(t, 1)
	fx.add(t, spec{key: "a", rel: 0.9, age: hour})
	_, err := newsletter.Compose(t.Context(), fx.store, now, newsletter.ComposeOptions{BaseURL: baseURL, Comments: failingCounter{}})
	if err == nil || !strings.Contains(err.Error(), "comments store down") {
		t.Errorf("error %v, want the counter's error wrapped", err)
	}
}
