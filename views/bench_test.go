package views_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

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

func benchPage(b *testing.B, path string, invalidate bool, header ...string) {
	srv := benchSite(b)
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
	b.Run("cached", func(b *testing.B) { benchPage(b, "/", false) })
	b.Run("cached-gzip", func(b *testing.B) { benchPage(b, "/", false, "Accept-Encoding", "gzip") })
	b.Run("rendered", func(b *testing.B) { benchPage(b, "/", true) })
}

// BenchmarkStory is the same for a story page.
func BenchmarkStory(b *testing.B) {
	path := fmt.Sprintf("/stories/%d/visible-story-%03d", 50, 50)
	b.Run("cached", func(b *testing.B) { benchPage(b, path, false) })
	b.Run("rendered", func(b *testing.B) { benchPage(b, path, true) })
}
