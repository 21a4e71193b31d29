package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/sqlite"
	"github.com/tidings/tidings/store/storetest"
)

func open(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestFeedsStore(t *testing.T) {
	storetest.TestFeedsStore(t, func(t *testing.T) feeds.Store {
		return open(t, filepath.Join(t.TempDir(), "tidings.db"))
	})
}

// BenchmarkSearch searches 10,000 stories; see storetest.BenchmarkSearch.
func BenchmarkSearch(b *testing.B) {
	storetest.BenchmarkSearch(b, open(b, filepath.Join(b.TempDir(), "bench.db")))
}

// Opening creates missing directories, and reopening keeps the data and does
// not apply the migrations twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "dir", "tidings.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.AddSource(t.Context(), feeds.Source{URL: "https://a.example/feed"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again := open(t, path)
	if _, err := again.Source(t.Context(), src.ID); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
	if err := again.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Two stores opened on one file at once (two processes, in effect) both
// migrate safely.
func TestOpenConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tidings.db")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := sqlite.Open(context.Background(), path)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A path with characters that mean something in a URI still names the file.
func TestOddPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a?b#c%20d", "tidings.db")
	s := open(t, path)
	if _, err := s.AddSource(t.Context(), feeds.Source{URL: "https://a.example/feed"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the database is not at %q: %v", path, err)
	}
}

func TestEmptyPath(t *testing.T) {
	if _, err := sqlite.Open(t.Context(), ""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
}
