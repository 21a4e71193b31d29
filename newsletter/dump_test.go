package newsletter_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings/tidings/store/redistest"
)

// assertNoPlainAddress reads everything the store holds — every file of a
// SQLite database, every value of every Redis key — and fails if any of
// addrs appears in it in plain text, in any case.
func assertNoPlainAddress(t *testing.T, f *nlFixture, addrs []string) {
	t.Helper()
	var dump []byte
	switch {
	case strings.HasPrefix(f.url, "sqlite:"):
		path := strings.TrimPrefix(f.url, "sqlite:")
		matches, _ := filepath.Glob(path + "*") // the database, -wal and -shm
		for _, p := range matches {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			dump = append(dump, b...)
		}
	default:
		dump = redistest.Dump(t, f.url)
	}
	if len(dump) < 1000 {
		t.Fatalf("the dump holds only %d bytes: nothing was read", len(dump))
	}
	low := bytes.ToLower(dump)
	for _, a := range addrs {
		if bytes.Contains(low, []byte(strings.ToLower(a))) {
			t.Errorf("the store holds %q in plain text", a)
		}
	}
	// The same dump does hold the stories, so it was read for real.
	if !bytes.Contains(dump, []byte("Court Rules Phone Searches")) {
		t.Error("the dump lacks a stored story title: it was not read whole")
	}
}
