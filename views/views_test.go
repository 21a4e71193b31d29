package views_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/views"
)

// site is a server on a real SQLite file with n visible stories, one hidden
// story and one story in another story's cluster.
func site(t testing.TB, n int, ready func(context.Context) error) (*httptest.Server, feeds.Store) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "views.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src, err := st.AddSource(ctx, feeds.Source{URL: "https://privacy.example/feed", Title: "Privacy Desk"})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	add := func(i int, title string, visible bool, cluster int64) feeds.Story {
		s, _, err := st.AddStory(ctx, feeds.Story{
			SourceID: src.ID, URL: fmt.Sprintf("https://privacy.example/%d", i), Title: title,
			Summary: "Summary of " + title, PublishedAt: base.Add(time.Duration(i) * time.Hour),
			FirstSeenAt: base, Visible: visible, Tags: []string{"encryption"}, ClusterID: cluster,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var first feeds.Story
	for i := 1; i <= n; i++ {
		s := add(i, fmt.Sprintf("Visible story %03d", i), true, 0)
		if i == 1 {
			first = s
		}
	}
	add(n+1, "Hidden off-topic story", false, 0)
	if n > 0 {
		add(n+2, "Follower in a cluster", true, first.ID)
	}
	srv, err := views.New(views.Options{Stories: st, Ready: ready})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts, st
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestHomePagination(t *testing.T) {
	ts, _ := site(t, 31, nil)
	resp, body := get(t, ts.URL+"/")
	if resp.StatusCode != 200 {
		t.Fatalf("home: %d", resp.StatusCode)
	}
	if got := strings.Count(body, `class="story"`); got != 30 {
		t.Errorf("page 1 lists %d stories, want 30", got)
	}
	if !strings.Contains(body, "Visible story 031") || strings.Contains(body, "Visible story 001") {
		t.Error("page 1 is not newest first")
	}
	if strings.Contains(body, "Hidden off-topic") || strings.Contains(body, "Follower in a cluster") {
		t.Error("home shows a hidden story or a cluster follower")
	}
	if !strings.Contains(body, `href="/?page=2"`) {
		t.Error("page 1 has no link to page 2")
	}
	_, body = get(t, ts.URL+"/?page=2")
	if got := strings.Count(body, `class="story"`); got != 1 || !strings.Contains(body, "Visible story 001") {
		t.Errorf("page 2 lists %d stories: %s", got, body)
	}
	for _, p := range []string{"3", "0", "-1", "abc", "99999999999999999999"} {
		if resp, body := get(t, ts.URL+"/?page="+p); resp.StatusCode != 404 || !strings.Contains(body, "nothing here") {
			t.Errorf("?page=%s: %d", p, resp.StatusCode)
		}
	}
}

func TestEmptyHomeAndErrors(t *testing.T) {
	ts, _ := site(t, 0, nil)
	resp, body := get(t, ts.URL+"/")
	if resp.StatusCode != 200 || !strings.Contains(body, "No stories yet") {
		t.Errorf("empty home: %d %s", resp.StatusCode, body)
	}
	resp, body = get(t, ts.URL+"/no/such/page")
	if resp.StatusCode != 404 || !strings.Contains(body, "<h1>Not Found</h1>") {
		t.Errorf("unknown route: %d %s", resp.StatusCode, body)
	}
}

func TestHeadersAndAssets(t *testing.T) {
	ts, _ := site(t, 1, nil)
	resp, body := get(t, ts.URL+"/")
	for h, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
	} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s = %q, want %q in it", h, resp.Header.Get(h), want)
		}
	}
	if strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") == false {
		t.Error("CSP lacks frame-ancestors 'none'")
	}
	css := regexp.MustCompile(`href="(/static/style\.[0-9a-f]+\.css)"`).FindStringSubmatch(body)
	if css == nil {
		t.Fatal("no stylesheet link")
	}
	resp, body = get(t, ts.URL+css[1])
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || !strings.Contains(body, "prefers-color-scheme") {
		t.Errorf("stylesheet: %d %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	for _, remote := range []string{"http://", "https://"} {
		for _, attr := range []string{`src="` + remote, `<link rel="stylesheet" href="` + remote} {
			if strings.Contains(body, attr) {
				t.Errorf("page loads a remote asset: %s", attr)
			}
		}
	}
}

func TestOperations(t *testing.T) {
	up, _ := site(t, 1, func(context.Context) error { return nil })
	if resp, _ := get(t, up.URL+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	if resp, _ := get(t, up.URL+"/readyz"); resp.StatusCode != 200 {
		t.Errorf("readyz: %d", resp.StatusCode)
	}
	if resp, body := get(t, up.URL+"/metrics"); resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/plain") {
		t.Errorf("metrics: %d %s", resp.StatusCode, body)
	}
	down, _ := site(t, 1, func(context.Context) error { return errors.New("connection refused") })
	if resp, _ := get(t, down.URL+"/readyz"); resp.StatusCode != 503 {
		t.Errorf("readyz with the store down: %d, want 503", resp.StatusCode)
	}
}

func TestStoreFailureIsNotLeaked(t *testing.T) {
	ts, st := site(t, 1, nil)
	st.(interface{ Close() error }).Close()
	resp, body := get(t, ts.URL+"/")
	if resp.StatusCode != 500 || strings.Contains(body, "sql") || !strings.Contains(body, "Something went wrong") {
		t.Errorf("store failure: %d %s", resp.StatusCode, body)
	}
}

// slowStore is a store whose story lists time out, as a store too busy to
// answer within the render's time does.
type slowStore struct{ feeds.Store }

func (slowStore) Stories(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error) {
	return nil, fmt.Errorf("sqlite: stories: %w", context.DeadlineExceeded)
}

// TestStoreTimeoutIs503: a page whose store call ran out of time is a 503
// "too busy", with Retry-After, not a 500.
func TestStoreTimeoutIs503(t *testing.T) {
	_, st := site(t, 1, nil)
	srv, err := views.New(views.Options{Stories: slowStore{st}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	resp, body := get(t, ts.URL+"/")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "too busy to answer") || strings.Contains(body, "deadline") {
		t.Errorf("timed-out store: %d, Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
}
