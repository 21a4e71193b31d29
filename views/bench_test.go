package views_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/views"
)

// benchSite is a server over 100 visible stories, for the page benchmarks.
func benchSite(b *testing.B) *views.Server {
	b.Helper()
	_, st := site(b, 100, nil)
	srv, err := views.New(views.Options{Stories: st})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

// benchCommentSite is benchSite with the comment service and form tokens:
// story pages carry the comment form, whose time is filled in per response,
// and story 50 has a discussion of five comments, two of them replies.
func benchCommentSite(b *testing.B) *views.Server {
	b.Helper()
	_, st := site(b, 100, nil)
	keys, svc, _ := commentService(b, comments.Options{Store: st.(comments.Store), Stories: st})
	ctx := context.Background()
	var parent int64
	for i := range 5 {
		c, err := svc.Submit(ctx, comments.Submission{
			StoryID: 50, ParentID: parent, Author: fmt.Sprintf("Reader %d", i), Email: fmt.Sprintf("r%d@example.org", i),
			Body:     "A comment of a few words, with a link to https://example.org/page and a second sentence.",
			FormTime: time.Now().Add(-time.Minute), IP: fmt.Sprintf("192.0.2.%d", i+1),
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Approve(ctx, c.ID); err != nil {
			b.Fatal(err)
		}
		if i%2 == 1 {
			parent = c.ID
		} else {
			parent = 0
		}
	}
	srv, err := views.New(views.Options{Stories: st, Forms: keys, Comments: svc})
	if err != nil {
		b.Fatal(err)
	}
	return srv
}

func benchPage(b *testing.B, srv *views.Server, path string, invalidate bool, header ...string) {
	h := srv.Handler()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		if invalidate {
			srv.Invalidate()
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d", path, w.Code)
		}
		size = w.Body.Len()
	}
	b.ReportMetric(float64(size), "bytes/page")
}

// BenchmarkHome compares the home page from the cache with a rendering from
// the store on every request.
func BenchmarkHome(b *testing.B) {
	b.Run("cached", func(b *testing.B) { benchPage(b, benchSite(b), "/", false) })
	b.Run("cached-gzip", func(b *testing.B) { benchPage(b, benchSite(b), "/", false, "Accept-Encoding", "gzip") })
	b.Run("rendered", func(b *testing.B) { benchPage(b, benchSite(b), "/", true) })
}

// BenchmarkStory is the same for a story page, without comments and with
// them (a page whose form time is spliced into each response, plain or
// into the gzipped copy).
func BenchmarkStory(b *testing.B) {
	path := fmt.Sprintf("/stories/%d/visible-story-%03d", 50, 50)
	b.Run("cached", func(b *testing.B) { benchPage(b, benchSite(b), path, false) })
	b.Run("cached-gzip", func(b *testing.B) { benchPage(b, benchSite(b), path, false, "Accept-Encoding", "gzip") })
	b.Run("rendered", func(b *testing.B) { benchPage(b, benchSite(b), path, true) })
	b.Run("comments/cached", func(b *testing.B) { benchPage(b, benchCommentSite(b), path, false) })
	b.Run("comments/cached-gzip", func(b *testing.B) { benchPage(b, benchCommentSite(b), path, false, "Accept-Encoding", "gzip") })
	b.Run("comments/rendered", func(b *testing.B) { benchPage(b, benchCommentSite(b), path, true) })
}
