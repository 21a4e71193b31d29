package views_test

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/views"
)

// Two servers on one store (two processes, in effect): a page the second has
// cached shows a story stored through the first as soon as the first
// invalidates, long before the cache's own 30 s run out.
func TestInvalidateReachesOtherProcesses(t *testing.T) {
	for _, sc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "x.db") }},
		{"redis", func(t *testing.T) string { return redistest.Server(t) }},
	} {
		t.Run(sc.name, func(t *testing.T) {
			u := sc.url(t)
			a, b := openShared(t, u), openShared(t, u)
			ctx := context.Background()
			src, err := a.AddSource(ctx, feeds.Source{URL: "https://privacy.example/feed", Title: "Privacy Desk"})
			if err != nil {
				t.Fatal(err)
			}
			addStory := func(n int, title string) {
				t.Helper()
				at := time.Date(2026, 11, 1, n, 0, 0, 0, time.UTC)
				if _, _, err := a.AddStory(ctx, feeds.Story{SourceID: src.ID, URL: "https://privacy.example/" + title,
					Title: title, PublishedAt: at, FirstSeenAt: at, Visible: true}); err != nil {
					t.Fatal(err)
				}
			}
			addStory(1, "First shared story")
			srvA, baseA := serveOn(t, a)
			_, baseB := serveOn(t, b)

			if _, body := get(t, baseB+"/"); !strings.Contains(body, "First shared story") {
				t.Fatal("B's home page lacks the first story")
			}
			_, _ = get(t, baseA+"/")
			addStory(2, "Second shared story")
			if _, body := get(t, baseB+"/"); strings.Contains(body, "Second shared story") {
				t.Fatal("B's home page was not cached: this test shows nothing")
			}
			srvA.Invalidate()
			deadline := time.Now().Add(5 * time.Second)
			for {
				_, body := get(t, baseB+"/")
				if strings.Contains(body, "Second shared story") {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("B's home page never showed the story A announced")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if _, body := get(t, baseA+"/"); !strings.Contains(body, "Second shared story") {
				t.Error("A's own Invalidate did not drop A's cache")
			}
		})
	}
}

func openShared(t *testing.T, u string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// serveOn runs a server on st with its change signal until t ends.
func serveOn(t *testing.T, st store.Store) (*views.Server, string) {
	t.Helper()
	srv, err := views.New(views.Options{Stories: st, Changes: st})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return srv, "http://" + ln.Addr().String()
}
