package transfer_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/transfer"
)

// smallExport is the export of a store with a few records of most kinds:
// a mark, a source, two stories, two subscribers, an issue with a delivery.
func smallExport(t *testing.T) []byte {
	t.Helper()
	ctx := t.Context()
	s := newSite(t, "sqlite:"+filepath.Join(t.TempDir(), "small.db"))
	if _, err := s.st.MarkOnce(ctx, "default-sources"); err != nil {
		t.Fatal(err)
	}
	src, err := s.st.AddSource(ctx, feeds.Source{URL: "https://a.example/feed"})
	if err != nil {
		t.Fatal(err)
	}
	for i, title := range []string{"Spyware found on phones of reporters", "Data broker fined for selling locations"} {
		at := clock.Add(-time.Duration(i+1) * time.Hour)
		if _, _, err := s.st.AddStory(ctx, feeds.Story{SourceID: src.ID, URL: "https://a.example/" + title[:4],
			Title: title, PublishedAt: at, FirstSeenAt: at, Visible: true, Relevance: 0.9}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.nl.Import(ctx, strings.NewReader("x.one@example.org\ny.two@example.org\n"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.nl.Send(ctx, "", newsletter.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	return export(t, s)
}

func lines(b []byte) []string { return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") }

func join(ls []string) []byte { return []byte(strings.Join(ls, "\n") + "\n") }

// lineOf finds the first line of kind, counted from 0.
func lineOf(t *testing.T, ls []string, kind string) int {
	t.Helper()
	for i, l := range ls {
		if strings.HasPrefix(l, `{"kind":"`+kind+`"`) {
			return i
		}
	}
	t.Fatalf("no %s line in %q", kind, ls)
	return 0
}

// TestImportBadInput feeds damaged exports to Check and Import: each is
// refused with an error naming the line, and Import reports what it had
// written by then.
func TestImportBadInput(t *testing.T) {
	good := smallExport(t)
	ls := lines(good)
	story, sub, issue, delivery, end := lineOf(t, ls, "story"), lineOf(t, ls, "subscriber"),
		lineOf(t, ls, "issue"), lineOf(t, ls, "delivery"), len(ls)-1
	edit := func(i int, old, new string) []byte {
		c := append([]string(nil), ls...)
		if !strings.Contains(c[i], old) {
			t.Fatalf("line %d %q holds no %q", i+1, c[i], old)
		}
		c[i] = strings.Replace(c[i], old, new, 1)
		return join(c)
	}
	insert := func(i int, line string) []byte {
		c := append(append(append([]string(nil), ls[:i]...), line), ls[i:]...)
		return join(c)
	}
	for _, c := range []struct {
		name  string
		input []byte
		line  int
		says  string
	}{
		{"empty", nil, 1, "empty"},
		{"not JSON", []byte("email,status\nann@example.org,confirmed\n"), 1, "not a Tidings export"},
		{"no header", join(ls[1:]), 1, "not a Tidings export"},
		{"a newer version", edit(0, `"version":1`, `"version":2`), 1, "version 2 is not supported"},
		{"broken JSON", edit(story, `{"kind":"story",`, `{"kind":"story",,`), story + 1, "not JSON"},
		{"unknown kind", insert(story, `{"kind":"storey","id":99}`), story + 1, `unknown kind "storey"`},
		{"no kind", insert(story, `{"id":99}`), story + 1, `without a "kind"`},
		{"unknown field", edit(story, `{"kind":"story",`, `{"kind":"story","colour":"red",`), story + 1, `unknown field "colour"`},
		{"two values", edit(story, `}`, `} {}`), story + 1, "not JSON"},
		{"bad status", edit(sub, `"status":"confirmed"`, `"status":"maybe"`), sub + 1, `unknown status "maybe"`},
		{"bad ID", edit(story, `"id":`, `"id":-`), story + 1, "not positive"},
		{"delivery first", insert(issue, ls[delivery]), issue + 1, "before that week's issue"},
		{"second header", insert(1, ls[0]), 2, "a second header"},
		{"cut in a line", good[:len(good)-10], end + 1, "truncated"},
		{"no end record", join(ls[:end]), end + 1, "without its end record"},
		{"counts differ", join(append(append([]string(nil), ls[:story]...), ls[story+1:]...)), end, "the end record counts 2 stories but the file holds 1"},
		{"after the end", append(append([]byte(nil), good...), ls[1]+"\n"...), end + 2, "after the end record"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := transfer.Check(bytes.NewReader(c.input))
			checkLineError(t, "Check", err, c.line, c.says)
			s := newSite(t, "sqlite:"+filepath.Join(t.TempDir(), "bad.db"))
			written, err := transfer.Import(t.Context(), s.restorer(t), bytes.NewReader(c.input), transfer.ImportOptions{})
			checkLineError(t, "Import", err, c.line, c.says)
			// What Import reports as written is what the store holds.
			srcs, _ := s.st.Sources(t.Context(), feeds.SourceFilter{})
			n, _ := s.st.CountStories(t.Context(), feeds.StoryFilter{})
			if len(srcs) != written[transfer.KindSource] || n != written[transfer.KindStory] {
				t.Errorf("Import reported %v written; the store holds %d sources, %d stories", written, len(srcs), n)
			}
			// Nothing from the bad line itself.
			sts, _ := s.st.Stories(t.Context(), feeds.StoryFilter{})
			for _, st := range sts {
				if st.ID <= 0 {
					t.Errorf("the bad story %d was stored", st.ID)
				}
			}
		})
	}
}

func checkLineError(t *testing.T, what string, err error, line int, says string) {
	t.Helper()
	var le *transfer.LineError
	if !errors.As(err, &le) {
		t.Fatalf("%s: %v; want a *LineError", what, err)
	}
	if le.Line != line || !strings.Contains(err.Error(), says) {
		t.Errorf("%s: %q; want line %d saying %q", what, err, line, says)
	}
}

// An import cut short (the file's end lost) leaves a part written and says
// so; it is refused again without Force, and finished with it.
func TestImportResume(t *testing.T) {
	ctx := t.Context()
	good := smallExport(t)
	ls := lines(good)
	part := join(ls[:lineOf(t, ls, "issue")])
	s := newSite(t, "sqlite:"+filepath.Join(t.TempDir(), "resume.db"))
	written, err := transfer.Import(ctx, s.restorer(t), bytes.NewReader(part), transfer.ImportOptions{})
	if err == nil || written[transfer.KindStory] != 2 || written[transfer.KindSubscriber] != 2 {
		t.Fatalf("a cut file: written %v, %v", written, err)
	}
	if _, err := transfer.Import(ctx, s.restorer(t), bytes.NewReader(good), transfer.ImportOptions{}); !errors.Is(err, transfer.ErrNotEmpty) {
		t.Fatalf("into a store holding a part: %v, want ErrNotEmpty", err)
	}
	want, err := transfer.Check(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	got, err := transfer.Import(ctx, s.restorer(t), bytes.NewReader(good), transfer.ImportOptions{Force: true})
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("finishing with Force: %v, %v; want %v", got, err, want)
	}
	if again := export(t, s); !bytes.Equal(again, good) {
		t.Errorf("after finishing the import, the export differs:\n%s", lineDiff(lines(good), lines(again)))
	}
}

// A target with another secret key is refused before anything is written.
func TestImportChecksKey(t *testing.T) {
	ctx := t.Context()
	good := smallExport(t)
	s := newSite(t, "sqlite:"+filepath.Join(t.TempDir(), "key.db"))
	wrong := errors.New("another key")
	_, err := transfer.Import(ctx, s.restorer(t), bytes.NewReader(good), transfer.ImportOptions{
		CheckKey: func([]byte) error { return wrong },
	})
	if !errors.Is(err, wrong) {
		t.Fatalf("Import with a failing key check: %v", err)
	}
	if empty, err := s.restorer(t).IsEmpty(ctx); err != nil || !empty {
		t.Errorf("after a failed key check the store is not empty (%v)", err)
	}
}

// Counts reads as a summary.
func TestCountsString(t *testing.T) {
	c := transfer.Counts{transfer.KindStory: 1, transfer.KindDelivery: 2, transfer.KindAdminPassword: 1}
	want := "0 sources, 1 story, 0 subscribers, 0 issues, 2 deliveries, 0 comments, the admin password"
	if c.String() != want {
		t.Errorf("String() = %q, want %q", c.String(), want)
	}
}
