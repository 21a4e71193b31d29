package newsletter

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Each factor of the score moves it the way the ranking promises.
func TestScore(t *testing.T) {
	const day = 24 * time.Hour
	for _, c := range []struct {
		name        string
		better      float64
		worse       float64
		wantBetween [2]float64 // bounds of better − worse; zero: any positive
	}{
		{"relevance", score(0.9, 1, 0, day), score(0.6, 1, 0, day), [2]float64{0.29, 0.31}},
		{"three outlets beat one", score(0.6, 3, 0, day), score(0.6, 1, 0, day), [2]float64{0.23, 0.24}},
		{"breadth beats a few hours", score(0.6, 2, 0, 23*time.Hour), score(0.6, 1, 0, 0), [2]float64{}},
		{"fresh beats 6 days old", score(0.6, 1, 0, time.Hour), score(0.6, 1, 0, 6*day), [2]float64{}},
		{"comments", score(0.6, 1, 3, day), score(0.6, 1, 0, day), [2]float64{0.099, 0.101}},
		{"a wide relevance gap beats freshness and a second outlet", score(0.9, 1, 0, 7*day), score(0.5, 2, 0, 0), [2]float64{}},
		{"breadth is capped", score(0.6, 1000, 0, day), score(0.6, 16, 0, day), [2]float64{-1e-9, 1e-9}},
		{"comments are capped", score(0.6, 1, 10000, day), score(0.6, 1, 31, day), [2]float64{-1e-9, 1e-9}},
		{"age is clamped", score(0.6, 1, 0, -day), score(0.6, 1, 0, 0), [2]float64{-1e-9, 1e-9}},
		{"relevance is clamped", score(7, 1, 0, day), score(1, 1, 0, day), [2]float64{-1e-9, 1e-9}},
	} {
		d := c.better - c.worse
		if c.wantBetween == [2]float64{} {
			if d <= 0 {
				t.Errorf("%s: difference %.4f, want > 0", c.name, d)
			}
		} else if d < c.wantBetween[0] || d > c.wantBetween[1] {
			t.Errorf("%s: difference %.4f, want in %v", c.name, d, c.wantBetween)
		}
	}
}

func TestWrap(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  string
	}{
		{"", 10, ""},
		{"  one  two\tthree\nfour ", 10, "one two\nthree four"},
		{"aaaa bbbb cccc", 9, "aaaa bbbb\ncccc"},
		{"see https://example.org/a/very/long/path/indeed now", 10, "see\nhttps://example.org/a/very/long/path/indeed\nnow"},
		{"abcdefghijkl xy", 5, "abcde\nfghij\nkl xy"},
		{"ééééééé", 3, "ééé\nééé\né"},
	} {
		if got := wrap(c.in, c.width); got != c.want {
			t.Errorf("wrap(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

// FuzzWrap checks that wrapping only moves line breaks: the words stay in
// order and whole (or split where too long), and no line is longer than the
// width unless it is one URL.
func FuzzWrap(f *testing.F) {
	f.Add("The quick brown fox jumps over the lazy dog", 10)
	f.Add("https://news.example.org/stories/1/a-long-slug-here and more", 20)
	f.Add("ééé\u00a0ééé\u2028x\xff\xfe y", 2)
	f.Fuzz(func(t *testing.T, s string, width int) {
		if width < 1 || width > 200 {
			return
		}
		out := wrap(s, width)
		if strings.Join(strings.Fields(out), "") != strings.Join(strings.Fields(s), "") {
			t.Fatalf("wrap(%q, %d) = %q changed the text", s, width, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if line != strings.TrimSpace(line) && line != "" {
				t.Fatalf("wrap(%q, %d): line %q has outer space", s, width, line)
			}
			if utf8.RuneCountInString(line) > width && (strings.Contains(line, " ") || !strings.Contains(line, "://")) {
				t.Fatalf("wrap(%q, %d): line %q too long", s, width, line)
			}
		}
	})
}

func FuzzCleanText(f *testing.F) {
	f.Add("Title\r\nBcc: x \u202e TIDINGS-UNSUBSCRIBE-URL tidings-unsubscribe-url")
	f.Add("\xff\x00\u2029")
	f.Fuzz(func(t *testing.T, s string) {
		out := cleanText(s)
		if !utf8.ValidString(out) || hasPlaceholder(out) || out != strings.TrimSpace(out) {
			t.Fatalf("cleanText(%q) = %q", s, out)
		}
		for _, r := range out {
			if r < ' ' || r == 0x7f || r == '\u2028' || r == '\u202e' {
				t.Fatalf("cleanText(%q) = %q keeps %U", s, out, r)
			}
		}
		if got := cutWords(out, 20); utf8.RuneCountInString(got) > 20 || !utf8.ValidString(got) {
			t.Fatalf("cutWords(%q, 20) = %q", out, got)
		}
	})
}

// The story path is the one the web views build (cases from their tests),
// so a link in a mail needs no redirect.
func TestStoryPath(t *testing.T) {
	for title, want := range map[string]string{
		"WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims": "/stories/7/whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims",
		"Café Crème: l’été, don't panic!":                               "/stories/7/cafe-creme-lete-dont-panic",
		"  --EU's  AI Act -- passes (finally)  ":                        "/stories/7/eus-ai-act-passes-finally",
		"日本語のタイトル":                                                      "/stories/7",
		"Ｆｕｌｌｗｉｄｔｈ ５Ｇ":                                                  "/stories/7/fullwidth-5g",
		`</script><script>alert(1)</script>`:                            "/stories/7/script-script-alert-1-script",
		"The tidings unsubscribe URL":                                   "/stories/7",
	} {
		if got := storyPath(7, title); got != want {
			t.Errorf("storyPath(7, %q) = %q, want %q", title, got, want)
		}
	}
}
