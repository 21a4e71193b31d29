package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/store/redistest"
)

// TestExportImportCommands moves a site from SQLite to a Redis Cluster with
// `tidings export --out FILE` and `tidings import FILE`: the cluster's
// export holds the same records, a second `digest send` mails nobody, and a
// second import, a damaged file and a site with another secret key are each
// refused with a clear message and exit code 1, writing nothing.
func TestExportImportCommands(t *testing.T) {
	ctx := context.Background()
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, freshFeed(time.Now().UTC()))
	}))
	t.Cleanup(feed.Close)
	dir, data := t.TempDir(), t.TempDir()
	t.Setenv("TIDINGS_SECRET_KEY", "")
	from := []string{"--store", "sqlite:" + filepath.Join(dir, "site.db"), "--data", data, "--allow-private-feeds"}
	to := []string{"--store", redistest.Cluster(t), "--data", data}
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := tidings(t, ctx, args...)
		if code != 0 {
			t.Fatalf("tidings %q: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	must(append([]string{"feeds", "add", feed.URL + "/feed.xml", "--on-topic"}, from...)...)
	must(append([]string{"poll", "--once"}, from...)...)
	csv := filepath.Join(dir, "subs.csv")
	if err := os.WriteFile(csv, []byte("one@example.org\ntwo@example.org\nthree@example.org\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	must(append([]string{"subscribers", "import", csv}, from...)...)
	must(append([]string{"digest", "send"}, from...)...)
	outbox := filepath.Join(data, "outbox")
	mailed := len(readOutbox(t, outbox))

	file := filepath.Join(dir, "site.jsonl")
	if out := must(append([]string{"export", "--out", file}, from...)...); !strings.Contains(out, "exported 1 source, 3 stories, 3 subscribers, 1 issue, 3 deliveries, 0 comments") {
		t.Errorf("export summary: %q", out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the export file: %v, %v; want mode 0600", fi, err)
	}
	exported, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if out := must(append([]string{"import", file}, to...)...); !strings.Contains(out, "imported 1 source, 3 stories, 3 subscribers, 1 issue, 3 deliveries") {
		t.Errorf("import summary: %q", out)
	}
	again := must(append([]string{"export"}, to...)...)
	// The headers differ in their time and key check only.
	if !slices.Equal(sortedBody(again), sortedBody(string(exported))) {
		t.Errorf("the cluster's export differs from SQLite's:\n%s\n---\n%s", again, exported)
	}
	must(append([]string{"digest", "send"}, to...)...)
	if n := len(readOutbox(t, outbox)); n != mailed {
		t.Errorf("digest send after the move mailed %d messages, want none", n-mailed)
	}

	refused := func(what string, stdin string, says []string, args ...string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(ctx, args, strings.NewReader(stdin), &out, &errOut)
		if code != 1 {
			t.Errorf("%s: exit %d, want 1\n%s", what, code, errOut.String())
		}
		for _, s := range says {
			if !strings.Contains(errOut.String(), s) {
				t.Errorf("%s: %q does not say %q", what, errOut.String(), s)
			}
		}
	}
	refused("a second import", "", []string{"not empty", "--force"}, append([]string{"import", file}, to...)...)

	fresh := func() []string {
		return []string{"--store", "sqlite:" + filepath.Join(t.TempDir(), "new.db"), "--data", data}
	}
	bad := filepath.Join(dir, "bad.jsonl")
	lines := strings.SplitAfter(string(exported), "\n")
	if err := os.WriteFile(bad, []byte(lines[0]+lines[1]+"{\"kind\":\"story\",\"id\":\n"+strings.Join(lines[2:], "")), 0o600); err != nil {
		t.Fatal(err)
	}
	target := fresh()
	refused("a damaged file", "", []string{"line 3", "not JSON", "nothing was imported"}, append([]string{"import", bad}, target...)...)
	if out := must(append([]string{"feeds", "list"}, target...)...); strings.Contains(out, "feed.xml") {
		t.Errorf("the damaged file was partly imported: %s", out)
	}
	// The same from standard input, where the file cannot be checked first:
	// what was written is said, and --force finishes it with the whole file.
	target = fresh()
	refused("a damaged stream", string(lines[0])+string(lines[1])+lines[2]+"{\"kind\":\"story\",\"id\":\n",
		[]string{"line 4", "stopped after writing", "--force"}, append([]string{"import", "-"}, target...)...)
	must(append([]string{"import", file, "--force"}, target...)...)

	t.Setenv("TIDINGS_SECRET_KEY", "c29tZSBvdGhlciBrZXkgb2YgMzIgYnl0ZXMgb3IgbW9yZQ")
	target = fresh()
	refused("another secret key", "", []string{"another secret key"}, append([]string{"import", file}, target...)...)
	if out := must(append([]string{"subscribers", "list"}, target...)...); strings.Contains(out, "confirmed") {
		t.Errorf("an import with the wrong key wrote subscribers: %s", out)
	}
}

// sortedBody is an export's lines but the header, sorted.
func sortedBody(export string) []string {
	lines := strings.Split(strings.TrimSuffix(export, "\n"), "\n")
	lines = lines[1:]
	slices.Sort(lines)
	return lines
}
