package feeds

import (
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"

	"github.com/tidings/tidings/bench/ingest/feedgen"
)

// feedHTML is content as feeds write it, with no images or hidden parts.
var feedHTML = []string{
	"Plain text, no markup at all.",
	`<p>Lawmakers want a <a href="/back-door?utm_source=rss">back door</a> &amp; more.</p><p>Second&nbsp;paragraph.</p>`,
	`<div><h1>Heading</h1><section>Block one</section><section>Block two</section></div>tail`,
	`<ul><li>one</li><li>two <em>three</em></li></ul><ol><li>four</li></ol>`,
	`<blockquote>“Quoted” — said someone</blockquote><pre>code  with   spaces</pre>`,
	`<table><tr><th>a</th><td>b</td></tr><tr><td colspan="2">c</td></tr></table>`,
	`line<br>break<br/>and<hr>rule &lt;b&gt; not a tag &#8217; &eacute;`,
	"<p>tabs\tand\nnew lines\r\nand \u00a0 spaces</p>",
	`<p>text with <span class="x" style="color:red">a span</span> and <strong>bold</strong></p>`,
	`<p>a <script>alert(1)</script>b <style>p{}</style>c <noscript>n</noscript>d</p>`,
	`<figure><figcaption>Caption</figcaption></figure><p>'quotes' and "doubles"</p>`,
}

// TestSanitisedTextMatchesHTMLToText checks that the summary read from
// sanitised content is the text of the original HTML.
func TestSanitisedTextMatchesHTMLToText(t *testing.T) {
	base, _ := url.Parse("https://news.example.org/a/b.html")
	inputs := append([]string(nil), feedHTML...)
	feed, err := ParseFeed(feedgen.Feed(1, 20, time.Now()), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range feed.Items {
		inputs = append(inputs, it.Description)
	}
	for _, in := range inputs {
		clean := CleanHTML(in, base)
		if got, want := sanitisedText(clean, -1), htmlToText(in, -1); got != want {
			t.Errorf("text of %q\n sanitised %q\n original  %q", in, got, want)
		}
	}
}

// TestSummaryLimit checks that reading only the first max+1 runes of text
// gives the summary the whole text gives.
func TestSummaryLimit(t *testing.T) {
	texts := append([]string{
		strings.Repeat("privacy ", 200), strings.Repeat("é", 50) + " " + strings.Repeat("word ", 80),
		"<p>" + strings.Repeat("a, ", 300) + "</p>", strings.Repeat("🔒 ", 150),
	}, feedHTML...)
	for _, s := range texts {
		full := htmlToText(s, -1)
		for _, max := range []int{1, 2, 5, 10, 80, 300, 400, 1000} {
			if got, want := Summarize(s, max), cutText(full, max); got != want {
				t.Errorf("Summarize(%.30q…, %d) = %q, want %q", s, max, got, want)
			}
			clean := CleanHTML(s, nil)
			if got, want := cutText(sanitisedText(clean, max+1), max), cutText(sanitisedText(clean, -1), max); got != want {
				t.Errorf("sanitised summary of %.30q…, %d = %q, want %q", s, max, got, want)
			}
		}
	}
}

func TestStoryFromItemSummary(t *testing.T) {
	item := func(desc, content string) *gofeed.Item {
		return &gofeed.Item{Link: "https://example.com/a", Title: "t", Description: desc, Content: content}
	}
	for _, tt := range []struct {
		name string
		item *gofeed.Item
		want string
	}{
		{"hidden text left out", item(`<p>Shown <span hidden>spam words</span>text</p><div style="display:none">more spam</div>`, ""),
			"Shown text"},
		{"image keeps words apart", item(`<p>before<img src="https://t.example/p.gif">after</p>`, ""), "before after"},
		{"summary from description, not content", item("<p>Teaser</p>", "<p>Body</p>"), "Teaser"},
		{"summary from content alone", item("", "<p>Body &amp; soul</p>"), "Body & soul"},
		{"entities and quotes", item(`<p>It&#39;s &quot;fine&quot; &lt;really&gt;</p>`, ""), `It's "fine" <really>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := StoryFromItem(Source{ID: 1, URL: "https://example.com/feed"}, nil, tt.item, cleanNow)
			if !ok || st.Summary != tt.want {
				t.Errorf("summary %q (ok %v), want %q", st.Summary, ok, tt.want)
			}
		})
	}
}

// FuzzSanitisedText checks the claim sanitisedText rests on: on whatever
// CleanHTML returns, the cheap pass reads the text the HTML tokenizer reads.
func FuzzSanitisedText(f *testing.F) {
	for _, s := range feedHTML {
		f.Add(s)
	}
	for _, p := range xssPayloads {
		f.Add(p)
	}
	f.Add("a\x00b\r\nc\rd &#0; &#13; <p title='<x>'>t</p>")
	base, _ := url.Parse("https://news.example.org/a/b.html")
	f.Fuzz(func(t *testing.T, in string) {
		clean := CleanHTML(in, base)
		got := sanitisedText(clean, -1)
		if want := htmlToText(clean, -1); got != want {
			t.Fatalf("content %q: sanitisedText %q, htmlToText %q", clean, got, want)
		}
		if !utf8.ValidString(got) || strings.Contains(got, "  ") || strings.TrimSpace(got) != got {
			t.Fatalf("content %q: text %q not clean", clean, got)
		}
	})
}
