package feeds

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func readSourceFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "clean", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// problemLines returns the line numbers of err's problems, or fails t when
// err is not a *ListError.
func problemLines(t *testing.T, err error) []int {
	t.Helper()
	var le *ListError
	if !errors.As(err, &le) {
		t.Fatalf("error %v is not a *ListError", err)
	}
	lines := make([]int, len(le.Problems))
	for i, p := range le.Problems {
		lines[i] = p.Line
		if p.Reason == "" {
			t.Errorf("problem without reason: %+v", p)
		}
	}
	return lines
}

func TestParseSourceListOPML(t *testing.T) {
	urls, err := ParseSourceList(bytes.NewReader(readSourceFixture(t, "sources.opml")))
	want := []string{
		"https://rights.example.org/feed.xml",
		"https://cipher.example.com/atom.xml",
		"http://plain.example.net/rss",
		"https://entity.example.com/feed?a=1&b=2",
	}
	if !reflect.DeepEqual(urls, want) {
		t.Errorf("urls = %q, want %q", urls, want)
	}
	if lines := problemLines(t, err); !reflect.DeepEqual(lines, []int{16, 17, 18}) {
		t.Errorf("problem lines %v: %v", lines, err)
	}
	if msg := err.Error(); !strings.Contains(msg, `line 16 "javascript:alert(1)": not an http or https URL`) {
		t.Errorf("message: %s", msg)
	}
}

func TestParseSourceListText(t *testing.T) {
	urls, err := ParseSourceList(bytes.NewReader(readSourceFixture(t, "sources.txt")))
	want := []string{
		"https://rights.example.org/feed.xml",
		"https://cipher.example.com/atom.xml",
		"http://plain.example.net/rss",
	}
	if !reflect.DeepEqual(urls, want) {
		t.Errorf("urls = %q, want %q", urls, want)
	}
	if lines := problemLines(t, err); !reflect.DeepEqual(lines, []int{6, 8, 9, 11}) {
		t.Errorf("problem lines %v: %v", lines, err)
	}
}

func TestParseSourceListVariants(t *testing.T) {
	latin1 := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<opml version=\"1.0\"><body>" +
		"<outline text=\"Caf\xe9\" xmlUrl=\"https://cafe.example.com/rss\"/></body></opml>"
	tests := []struct {
		name    string
		in      string
		want    []string
		listErr bool // a *ListError beside the URLs
		fatal   bool // an error and no URLs
	}{
		{"empty", "", nil, false, false},
		{"only comments", "# nothing\n\n   \n#more\n", nil, false, false},
		{"BOM and CRLF", "\ufeffhttps://a.example/feed\r\nhttps://b.example/feed\r\n", []string{"https://a.example/feed", "https://b.example/feed"}, false, false},
		{"OPML with BOM and leading space", "\ufeff \n<opml><body><outline xmlUrl='https://a.example/x'/></body></opml>", []string{"https://a.example/x"}, false, false},
		{"OPML 1.0 without head", `<opml version="1.0"><body><outline xmlUrl="https://a.example/x" type="rss"/></body></opml>`, []string{"https://a.example/x"}, false, false},
		{"upper-case attribute", `<opml><body><outline XMLURL="https://a.example/x"/></body></opml>`, []string{"https://a.example/x"}, false, false},
		{"latin-1 OPML", latin1, []string{"https://cafe.example.com/rss"}, false, false},
		{"truncated OPML keeps what came before", `<opml><body><outline xmlUrl="https://a.example/x"/><outline xmlUrl="https://b.ex`, []string{"https://a.example/x"}, true, false},
		{"RSS is not a list", `<?xml version="1.0"?><rss><channel><link>https://a.example/</link></channel></rss>`, nil, false, true},
		{"HTML is not a list", "<!DOCTYPE html><html><body><a href='https://a.example/'>x</a></body></html>", nil, false, true},
		{"XML without elements", "<?xml version='1.0'?>", nil, false, true},
		{"binary garbage", "\x00\x01\x02 \xff\xfe", nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urls, err := ParseSourceList(strings.NewReader(tt.in))
			switch {
			case tt.fatal:
				var le *ListError
				if err == nil || errors.As(err, &le) || urls != nil {
					t.Fatalf("got %q, %v; want a plain error", urls, err)
				}
				return
			case tt.listErr:
				problemLines(t, err)
			case err != nil:
				t.Fatalf("error: %v", err)
			}
			if !reflect.DeepEqual(urls, tt.want) {
				t.Fatalf("urls = %q, want %q", urls, tt.want)
			}
		})
	}
}

func TestParseSourceListLimits(t *testing.T) {
	big := strings.Repeat("#", maxSourceListBytes+1)
	if urls, err := ParseSourceList(strings.NewReader(big)); err == nil || urls != nil {
		t.Errorf("oversized list: %d urls, %v", len(urls), err)
	}

	var b strings.Builder
	for i := 0; i <= maxSourceListURLs; i++ {
		fmt.Fprintf(&b, "https://feeds.example.com/%d\n", i)
	}
	fmt.Fprintf(&b, "https://feeds.example.com/last\n")
	urls, err := ParseSourceList(strings.NewReader(b.String()))
	if len(urls) != maxSourceListURLs {
		t.Errorf("%d urls kept", len(urls))
	}
	if lines := problemLines(t, err); !reflect.DeepEqual(lines, []int{maxSourceListURLs + 1}) {
		t.Errorf("problem lines %v", lines)
	}

	b.Reset()
	for i := 0; i < maxListProblems+5; i++ {
		b.WriteString("gopher://x/\n")
	}
	_, err = ParseSourceList(strings.NewReader(b.String()))
	var le *ListError
	if !errors.As(err, &le) || len(le.Problems) != maxListProblems+1 ||
		le.Problems[maxListProblems].Reason != "5 more bad entries not listed" {
		t.Errorf("problem cap: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "and 991 more") {
		t.Errorf("message not shortened: %.200s", msg)
	}

	if _, err := ParseSourceList(iotest.ErrReader(io.ErrUnexpectedEOF)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("read error: %v", err)
	}
}

func TestWriteOPMLRoundTrip(t *testing.T) {
	sources := []Source{
		{URL: "https://rights.example.org/feed.xml", Title: `Rights & "Wrongs" <Watch>`, SiteURL: "https://rights.example.org/"},
		{URL: "https://cipher.example.com/atom.xml?a=1&b=2", Title: "Cipher\nNotes\x01 ünïcode"},
		{URL: "http://plain.example.net/rss"},
	}
	var buf bytes.Buffer
	if err := WriteOPML(&buf, "Tidings <sources> & more", sources); err != nil {
		t.Fatal(err)
	}
	urls, err := ParseSourceList(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	want := []string{sources[0].URL, sources[1].URL, sources[2].URL}
	if !reflect.DeepEqual(urls, want) {
		t.Fatalf("round trip: %q, want %q", urls, want)
	}

	var doc opmlDocument
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if doc.Version != "2.0" || doc.Title != "Tidings <sources> & more" || len(doc.Outlines) != 3 {
		t.Fatalf("document: %+v", doc)
	}
	o := doc.Outlines[0]
	if o.Type != "rss" || o.Text != sources[0].Title || o.Title != sources[0].Title || o.HTMLURL != sources[0].SiteURL {
		t.Errorf("outline 0: %+v", o)
	}
	if o := doc.Outlines[1]; o.Title != "Cipher\nNotes\uFFFD ünïcode" {
		t.Errorf("outline 1 title %q", o.Title)
	}
	if o := doc.Outlines[2]; o.Text != sources[2].URL || o.Title != "" || o.HTMLURL != "" {
		t.Errorf("outline 2: %+v", o)
	}
	if !strings.HasPrefix(buf.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", buf.String())
	}
}

func TestWriteOPMLWriteError(t *testing.T) {
	for after := 0; after < 3; after++ {
		if err := WriteOPML(&failingWriter{after: after}, "t", DefaultSources()); err == nil {
			t.Errorf("no error from a writer failing after %d writes", after)
		}
	}
}

type failingWriter struct{ after int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func FuzzParseSourceList(f *testing.F) {
	f.Add([]byte("https://a.example/feed\n# c\nftp://x\n"))
	f.Add([]byte(`<opml><body><outline type="rss" xmlUrl="https://a.example/x"><outline xmlUrl="//b"/></outline></body></opml>`))
	f.Add([]byte("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><opml><body><outline xmlUrl=\"http://\xe9.example/\"/></body></opml>"))
	f.Add([]byte("<opml><body><outline xmlUrl=\"https://a.example/?a=1&amp;utm_source=x\" type=\"atom\"/>"))
	f.Add([]byte("\ufeff<!DOCTYPE opml><opml><body><outline xmlUrl='javascript:x'/></body></opml>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		urls, err := ParseSourceList(bytes.NewReader(data))
		if len(urls) > maxSourceListURLs {
			t.Fatalf("%d urls", len(urls))
		}
		seen := map[string]bool{}
		for _, u := range urls {
			if c, cerr := CanonicalURL(u, nil); cerr != nil || c != u {
				t.Fatalf("url %q not canonical: %q, %v", u, c, cerr)
			}
			if seen[u] {
				t.Fatalf("duplicate %q", u)
			}
			seen[u] = true
		}
		var le *ListError
		if errors.As(err, &le) {
			if len(le.Problems) == 0 || len(le.Problems) > maxListProblems+1 {
				t.Fatalf("%d problems", len(le.Problems))
			}
			for _, p := range le.Problems {
				if p.Line < 0 || p.Reason == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
			_ = le.Error()
		} else if err != nil && urls != nil {
			t.Fatalf("fatal error %v with %d urls", err, len(urls))
		}
	})
}
