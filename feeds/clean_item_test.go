package feeds

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
)

func tp(t time.Time) *time.Time { return &t }

func TestStoryFromItemRules(t *testing.T) {
	src := Source{ID: 5, URL: "https://feeds.example.com/news/rss.xml"}
	site := &gofeed.Feed{Link: "https://www.example.com/blog/"}
	longGUID := strings.Repeat("g", guidMax+1)
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name  string
		src   Source
		feed  *gofeed.Feed
		item  *gofeed.Item
		check func(t *testing.T, st Story)
		skip  bool
	}{
		{name: "nil item", item: nil, skip: true},
		{name: "no link at all", item: &gofeed.Item{Title: "t"}, skip: true},
		{name: "javascript link, no other", item: &gofeed.Item{Title: "t", Link: "javascript:alert(1)"}, skip: true},
		{name: "mailto link", item: &gofeed.Item{Title: "t", Link: "mailto:x@example.com"}, skip: true},
		{name: "no title, no text", item: &gofeed.Item{Link: "https://example.com/a"}, skip: true},
		{name: "title of markup only", item: &gofeed.Item{Link: "https://example.com/a", Title: "<img src=x>"}, skip: true},
		{name: "relative link against feed link", feed: site, item: &gofeed.Item{Title: "t", Link: "2026/post?utm_source=x"},
			check: wantURL("https://www.example.com/blog/2026/post")},
		{name: "relative feed link against source", feed: &gofeed.Feed{Link: "/site/"}, item: &gofeed.Item{Title: "t", Link: "p"},
			check: wantURL("https://feeds.example.com/site/p")},
		{name: "no feed link: source URL", feed: &gofeed.Feed{}, item: &gofeed.Item{Title: "t", Link: "/a"},
			check: wantURL("https://feeds.example.com/a")},
		{name: "nil feed", item: &gofeed.Item{Title: "t", Link: "b"},
			check: wantURL("https://feeds.example.com/news/b")},
		{name: "hostile feed link ignored", feed: &gofeed.Feed{Link: "javascript:alert(1)"}, item: &gofeed.Item{Title: "t", Link: "c"},
			check: wantURL("https://feeds.example.com/news/c")},
		{name: "links used when link empty", item: &gofeed.Item{Title: "t", Links: []string{"https://example.com/l"}},
			check: wantURL("https://example.com/l")},
		{name: "first usable of links", item: &gofeed.Item{Title: "t", Link: "javascript:x()", Links: []string{"javascript:x()", "data:,x", "https://example.com/ok"}},
			check: wantURL("https://example.com/ok")},
		{name: "URL GUID canonical", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: " HTTP://Example.COM:80/a?fbclid=1#x "},
			check: wantGUID("u:http://example.com/a")},
		{name: "plain GUID namespaced", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: "1234"},
			check: wantGUID("s5:1234")},
		{name: "tag GUID namespaced", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: "tag:example.com,2026:9"},
			check: wantGUID("s5:tag:example.com,2026:9")},
		{name: "relative GUID namespaced", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: "/posts/9"},
			check: wantGUID("s5:/posts/9")},
		{name: "javascript GUID namespaced", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: "javascript:alert(1)"},
			check: wantGUID("s5:javascript:alert(1)")},
		{name: "empty GUID", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: "  "},
			check: wantGUID("")},
		{name: "long GUID hashed", item: &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: longGUID},
			check: func(t *testing.T, st Story) {
				if !strings.HasPrefix(st.GUID, "s5:sha256:") || len(st.GUID) != len("s5:sha256:")+64 {
					t.Errorf("GUID %q", st.GUID)
				}
			}},
		{name: "title plain text", item: &gofeed.Item{Link: "https://example.com/a", Title: " <b>Court</b> &amp; the\n\tcookie   walls "},
			check: func(t *testing.T, st Story) { wantEq(t, "title", st.Title, "Court & the cookie walls") }},
		{name: "long title cut", item: &gofeed.Item{Link: "https://example.com/a", Title: strings.Repeat("word ", 100)},
			check: func(t *testing.T, st Story) {
				if n := utf8.RuneCountInString(st.Title); n > titleMax || !strings.HasSuffix(st.Title, "word…") {
					t.Errorf("title of %d runes: %q", n, st.Title)
				}
			}},
		{name: "title from description", item: &gofeed.Item{Link: "https://example.com/a", Description: "<p>Short note.</p>"},
			check: func(t *testing.T, st Story) { wantEq(t, "title", st.Title, "Short note.") }},
		{name: "title from content", item: &gofeed.Item{Link: "https://example.com/a", Content: "<p>Only content.</p>"},
			check: func(t *testing.T, st Story) { wantEq(t, "title", st.Title, "Only content.") }},
		{name: "content preferred, summary from description", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			Description: "Short <i>teaser</i>", Content: "<p>Long <script>x()</script>body</p>"},
			check: func(t *testing.T, st Story) {
				wantEq(t, "content", st.Content, "<p>Long body</p>")
				wantEq(t, "summary", st.Summary, "Short teaser")
			}},
		{name: "description as content", item: &gofeed.Item{Link: "https://example.com/a", Title: "t", Description: "<p onclick=x()>Body</p>"},
			check: func(t *testing.T, st Story) {
				wantEq(t, "content", st.Content, "<p>Body</p>")
				wantEq(t, "summary", st.Summary, "Body")
			}},
		{name: "summary capped", item: &gofeed.Item{Link: "https://example.com/a", Title: "t", Description: strings.Repeat("privacy ", 200)},
			check: func(t *testing.T, st Story) {
				if n := utf8.RuneCountInString(st.Summary); n > SummaryMax || n < SummaryMax-10 {
					t.Errorf("summary of %d runes", n)
				}
			}},
		{name: "content links resolved against item URL", item: &gofeed.Item{Link: "https://example.com/dir/post", Title: "t", Content: `<a href="other">o</a>`},
			check: func(t *testing.T, st Story) {
				wantEq(t, "content", st.Content, `<a href="https://example.com/dir/other" rel="nofollow noopener noreferrer">o</a>`)
			}},
		{name: "first named author", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			Authors: []*gofeed.Person{{Email: "a@example.com"}, {Name: "<b>Lee</b> &amp; Kim"}, {Name: "Other"}}},
			check: func(t *testing.T, st Story) { wantEq(t, "author", st.Author, "Lee & Kim") }},
		{name: "author email dropped", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			Authors: []*gofeed.Person{{Name: "jane@example.com"}}},
			check: func(t *testing.T, st Story) { wantEq(t, "author", st.Author, "") }},
		{name: "author name kept without email", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			Author: &gofeed.Person{Name: "jane@example.com (Jane Roe)"}},
			check: func(t *testing.T, st Story) { wantEq(t, "author", st.Author, "Jane Roe") }},
		{name: "published date in UTC", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			PublishedParsed: tp(time.Date(2026, 1, 2, 10, 0, 0, 0, paris)), UpdatedParsed: tp(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))},
			check: wantDate(time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC))},
		{name: "updated date when no published", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			UpdatedParsed: tp(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))},
			check: wantDate(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))},
		{name: "zero date is missing", item: &gofeed.Item{Link: "https://example.com/a", Title: "t", PublishedParsed: tp(time.Time{})},
			check: wantDate(cleanNow)},
		{name: "no date", item: &gofeed.Item{Link: "https://example.com/a", Title: "t"}, check: wantDate(cleanNow)},
		{name: "future date clamped", item: &gofeed.Item{Link: "https://example.com/a", Title: "t",
			PublishedParsed: tp(cleanNow.Add(time.Hour))}, check: wantDate(cleanNow)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := src
			if tt.src.URL != "" {
				s = tt.src
			}
			st, ok := StoryFromItem(s, tt.feed, tt.item, cleanNow.In(paris))
			if tt.skip {
				if ok {
					t.Fatalf("not skipped: %+v", st)
				}
				return
			}
			if !ok {
				t.Fatal("skipped")
			}
			if st.SourceID != 5 || !st.FirstSeenAt.Equal(cleanNow) || st.FirstSeenAt.Location() != time.UTC ||
				st.PublishedAt.Location() != time.UTC || st.Title == "" {
				t.Fatalf("bad story %+v", st)
			}
			if tt.check != nil {
				tt.check(t, st)
			}
		})
	}
}

func TestStoryFromItemGUIDsDoNotCollide(t *testing.T) {
	item := &gofeed.Item{Title: "t", Link: "https://example.com/a", GUID: "1234"}
	a, _ := StoryFromItem(Source{ID: 1, URL: "https://a.example/feed"}, nil, item, cleanNow)
	b, _ := StoryFromItem(Source{ID: 2, URL: "https://b.example/feed"}, nil, item, cleanNow)
	if a.GUID == b.GUID {
		t.Fatalf("both GUIDs are %q", a.GUID)
	}
	item.GUID = "https://example.com/a"
	a, _ = StoryFromItem(Source{ID: 1, URL: "https://a.example/feed"}, nil, item, cleanNow)
	b, _ = StoryFromItem(Source{ID: 2, URL: "https://b.example/feed"}, nil, item, cleanNow)
	if a.GUID != b.GUID {
		t.Fatalf("URL GUIDs differ: %q, %q", a.GUID, b.GUID)
	}
}

func wantURL(u string) func(*testing.T, Story) {
	return func(t *testing.T, st Story) { wantEq(t, "URL", st.URL, u) }
}

func wantGUID(g string) func(*testing.T, Story) {
	return func(t *testing.T, st Story) { wantEq(t, "GUID", st.GUID, g) }
}

func wantDate(d time.Time) func(*testing.T, Story) {
	return func(t *testing.T, st Story) {
		if !st.PublishedAt.Equal(d) {
			t.Errorf("PublishedAt = %v, want %v", st.PublishedAt, d)
		}
	}
}

func wantEq(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
