package feeds

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain text", "Hello world", 100, "Hello world"},
		{"tags stripped", "<p>Hello <b>world</b></p>", 100, "Hello world"},
		{"blocks keep words apart", "<p>one</p><p>two</p><ul><li>three</li><li>four</li></ul>two<br>lines", 100, "one two three four two lines"},
		{"inline tags join", "un<em>believ</em>able", 100, "unbelievable"},
		{"entities decoded", "AT&amp;T &eacute;t&eacute; &#8217;&#x2014; &lt;b&gt;", 100, "AT&T été ’— <b>"},
		{"script and style skipped", "a<script>var x = '<p>';</script>b<style>p{}</style>c<noscript>n</noscript>", 100, "abc"},
		{"comments skipped", "a<!-- hidden -->b", 100, "ab"},
		{"whitespace collapsed", " a \n\t b\u00a0\u2003c  ", 100, "a b c"},
		{"control characters dropped", "a\x00b\x07c\u200bd", 100, "abcd"},
		{"invalid UTF-8 repaired", "a\xffb", 100, "a\uFFFDb"},
		{"exact length kept", "abcde", 5, "abcde"},
		{"cut at word", "one two three four", 10, "one two…"},
		{"cut at space", "one two three", 8, "one two…"},
		{"cut drops trailing comma", "alpha, beta gamma", 8, "alpha…"},
		{"long word cut inside", strings.Repeat("x", 20), 10, "xxxxxxxxx…"},
		{"short first word, long second", "a " + strings.Repeat("y", 30), 10, "a yyyyyyy…"},
		{"multi-byte cut on rune", "ééééé ééééé", 8, "ééééé…"},
		{"emoji", "🔒🔒🔒🔒", 3, "🔒🔒…"},
		{"max one", "abc", 1, "…"},
		{"max zero", "abc", 0, ""},
		{"empty", "", 10, ""},
		{"only markup", "<img src=x><br>", 10, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Summarize(tt.in, tt.max)
			if got != tt.want {
				t.Fatalf("Summarize(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
			}
		})
	}
}

func FuzzSummarize(f *testing.F) {
	f.Add("<p>Hello <b>world</b> &amp; more</p>", 10)
	f.Add("ééééé ééééé", 8)
	f.Add("a\xffb\xe2\x82", 2)
	f.Fuzz(func(t *testing.T, in string, max int) {
		max %= 1000
		got := Summarize(in, max)
		if !utf8.ValidString(got) {
			t.Fatalf("Summarize(%q, %d) = %q: invalid UTF-8", in, max, got)
		}
		if n := utf8.RuneCountInString(got); n > max && !(max <= 0 && n == 0) {
			t.Fatalf("Summarize(%q, %d) = %q: %d runes", in, max, got, n)
		}
		if strings.Contains(got, "  ") || strings.TrimSpace(got) != got {
			t.Fatalf("Summarize(%q, %d) = %q: white space not collapsed", in, max, got)
		}
	})
}

var cleanNow = time.Date(2026, 3, 5, 12, 0, 0, 0, time.UTC)

func parseFixture(t *testing.T, name string) *gofeed.Feed {
	t.Helper()
	r, err := os.Open(filepath.Join("testdata", "clean", name))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	feed, err := gofeed.NewParser().Parse(r)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return feed
}

// storiesOf runs every item of feed through StoryFromItem, keeping the
// stories (nil for a skipped item) in item order.
func storiesOf(src Source, feed *gofeed.Feed) []*Story {
	out := make([]*Story, len(feed.Items))
	for i, it := range feed.Items {
		if st, ok := StoryFromItem(src, feed, it, cleanNow); ok {
			out[i] = &st
		}
	}
	return out
}

func TestStoryFromItemRSSFixture(t *testing.T) {
	src := Source{ID: 7, URL: "https://quietwire.example.com/feed.xml"}
	got := storiesOf(src, parseFixture(t, "rss-hostile.xml"))
	if len(got) != 6 {
		t.Fatalf("%d items", len(got))
	}
	for i, name := range map[int]string{0: "javascript link", 1: "data link", 5: "no title, no text"} {
		if got[i] != nil {
			t.Errorf("%s: not skipped: %+v", name, *got[i])
		}
	}

	st := got[2]
	if st == nil {
		t.Fatal("item 2 skipped")
	}
	want := Story{
		SourceID:    7,
		GUID:        "s7:1234",
		URL:         "https://quietwire.example.com/2026/03/e2ee-rules?id=7",
		Title:       "Encrypted messaging & the new rules",
		Summary:     "Lawmakers want a back door.",
		Author:      "Robin Vale",
		PublishedAt: time.Date(2026, 3, 2, 7, 15, 0, 0, time.UTC),
		FirstSeenAt: cleanNow,
		Content: `<p>Full text with a trap, a data link and <a href="https://quietwire.example.com/docs/bill.pdf" ` +
			`rel="nofollow noopener noreferrer">the bill</a>.</p>`,
	}
	if !storiesEqual(*st, want) {
		t.Errorf("item 2:\n got %+v\nwant %+v", *st, want)
	}

	st = got[3]
	if st == nil {
		t.Fatal("untitled item skipped")
	}
	if st.Title != "A note without a title, about face recognition cameras in train stations and…" {
		t.Errorf("title from text: %q", st.Title)
	}
	if utf8.RuneCountInString(st.Title) > titleFromTextMax {
		t.Errorf("title from text too long: %q", st.Title)
	}
	if st.GUID != "u:https://quietwire.example.com/2026/03/untitled" {
		t.Errorf("URL GUID: %q", st.GUID)
	}
	if st.Author != "Sam Ortiz" {
		t.Errorf("author: %q", st.Author)
	}
	if !st.PublishedAt.Equal(cleanNow) {
		t.Errorf("future date not clamped: %v", st.PublishedAt)
	}

	st = got[4]
	if st == nil || st.URL != "https://quietwire.example.com/2026/03/permalink-only" {
		t.Fatalf("permalink GUID as URL: %+v", st)
	}
	if !st.PublishedAt.Equal(cleanNow) || st.PublishedAt.Location() != time.UTC {
		t.Errorf("missing date: %v", st.PublishedAt)
	}
}

func storiesEqual(a, b Story) bool {
	return a.SourceID == b.SourceID && a.GUID == b.GUID && a.URL == b.URL && a.Title == b.Title &&
		a.Summary == b.Summary && a.Content == b.Content && a.Author == b.Author &&
		a.PublishedAt.Equal(b.PublishedAt) && a.FirstSeenAt.Equal(b.FirstSeenAt)
}

func TestStoryFromItemAtomXMLBase(t *testing.T) {
	src := Source{ID: 3, URL: "https://blog.example.org/feed.atom"}
	feed := parseFixture(t, "atom-xmlbase.xml")
	got := storiesOf(src, feed)
	if len(got) != 4 {
		t.Fatalf("%d items", len(got))
	}
	for i, st := range got {
		if st == nil {
			continue
		}
		checkStoryURLs(t, i, st)
	}
	if got[0] == nil || got[0].URL != "https://elsewhere.example.net/posts/2026/metadata-retention.html" {
		t.Errorf("entry 0 URL: %+v", got[0])
	} else if !strings.Contains(got[0].Content, `href="https://elsewhere.example.net/posts/ruling.pdf"`) {
		t.Errorf("entry 0 content: %q", got[0].Content)
	}
	if got[1] != nil {
		t.Errorf("entry under a javascript: base not skipped: %+v", *got[1])
	}
	if got[2] == nil {
		t.Fatal("entry 2 skipped")
	}
	if got[2].GUID != "u:https://blog.example.org/2026/safe.html" {
		t.Errorf("entry 2 GUID %q", got[2].GUID)
	}
	if want := `<p>A link and an <a href="https://ok.example.com/y" rel="nofollow noopener noreferrer">absolute one</a>.</p>`; got[2].Content != want {
		t.Errorf("entry 2 content %q, want %q", got[2].Content, want)
	}
	if got[3] != nil {
		t.Errorf("entry under a data: base not skipped: %+v", *got[3])
	}
}

// checkStoryURLs fails t unless every URL of st is an absolute http(s) URL.
func checkStoryURLs(t *testing.T, i int, st *Story) {
	t.Helper()
	u, err := url.Parse(st.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		t.Errorf("item %d: URL %q", i, st.URL)
	}
	checkHarmless(t, "item content", st.Content)
	if strings.Contains(strings.ToLower(st.Content), "javascript") {
		t.Errorf("item %d: content %q", i, st.Content)
	}
}

func TestStoryFromItemJSONFeed(t *testing.T) {
	src := Source{ID: 9, URL: "https://cipher.example.com/feed.json"}
	got := storiesOf(src, parseFixture(t, "jsonfeed.json"))
	if len(got) != 1 || got[0] == nil {
		t.Fatalf("stories: %v", got)
	}
	want := Story{
		SourceID:    9,
		GUID:        "s9:42",
		URL:         "https://cipher.example.com/posts/42?page=2",
		Title:       "Key transparency, explained",
		Summary:     "How key transparency logs work.",
		Content:     "<p>Verifying keys  without trust.</p>",
		Author:      "Ada Quill",
		PublishedAt: time.Date(2026, 2, 27, 12, 0, 0, 0, time.UTC),
		FirstSeenAt: cleanNow,
	}
	if !storiesEqual(*got[0], want) {
		t.Errorf("\n got %+v\nwant %+v", *got[0], want)
	}
}
