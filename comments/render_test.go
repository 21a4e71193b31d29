package comments_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/tidings/tidings/comments"
)

const rel = "nofollow ugc noopener"

func TestRenderBody(t *testing.T) {
	link := func(href, text string) string {
		return `<a href="` + href + `" rel="` + rel + `">` + text + `</a>`
	}
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{" \n\t\n  ", ""},
		{"Hello", "<p>Hello</p>\n"},
		{"  Hello  ", "<p>Hello</p>\n"},
		{"one\ntwo", "<p>one<br>\ntwo</p>\n"},
		{"one\n\ntwo", "<p>one</p>\n<p>two</p>\n"},
		{"one\r\n\r\ntwo\rthree", "<p>one</p>\n<p>two<br>\nthree</p>\n"},
		{"one\n  \t \n\n\ntwo", "<p>one</p>\n<p>two</p>\n"},
		{"<b>bold</b> & 'q' \"d\"", "<p>&lt;b&gt;bold&lt;/b&gt; &amp; &#39;q&#39; &#34;d&#34;</p>\n"},
		{"&amp; &lt;", "<p>&amp;amp; &amp;lt;</p>\n"},
		{"see https://example.org.", "<p>see " + link("https://example.org", "https://example.org") + ".</p>\n"},
		{"https://example.org/a?b=1&c=2", "<p>" + link("https://example.org/a?b=1&amp;c=2", "https://example.org/a?b=1&amp;c=2") + "</p>\n"},
		{"(see https://en.wikipedia.org/wiki/Tor_(network))", "<p>(see " + link("https://en.wikipedia.org/wiki/Tor_(network)", "https://en.wikipedia.org/wiki/Tor_(network)") + ")</p>\n"},
		{"[http://a.example/x]", "<p>[" + link("http://a.example/x", "http://a.example/x") + "]</p>\n"},
		{"Really? https://a.example/?!;:,", "<p>Really? " + link("https://a.example/", "https://a.example/") + "?!;:,</p>\n"},
		{"HTTPS://Example.org/Path", "<p>" + link("https://Example.org/Path", "HTTPS://Example.org/Path") + "</p>\n"},
		{"a https://a.example, b http://b.example", "<p>a " + link("https://a.example", "https://a.example") + ", b " + link("http://b.example", "http://b.example") + "</p>\n"},
		{"xhttps://a.example", "<p>xhttps://a.example</p>\n"},
		{"https:// and http://", "<p>https:// and http://</p>\n"},
		{"ftp://a.example javascript:alert(1) www.a.example", "<p>ftp://a.example javascript:alert(1) www.a.example</p>\n"},
		{"https://user:pw@bank.example", "<p>https://user:pw@bank.example</p>\n"},
		{"https://a.example/<b>", "<p>" + link("https://a.example/", "https://a.example/") + "&lt;b&gt;</p>\n"},
		{"bad \xff byte", "<p>bad \uFFFD byte</p>\n"},
		{"nul\x00l \x1b[31m", "<p>null [31m</p>\n"},
		{"Zoë 中文 🔒", "<p>Zoë 中文 🔒</p>\n"},
	} {
		if got := string(comments.RenderBody(c.in)); got != c.want {
			t.Errorf("RenderBody(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestAuthorLink(t *testing.T) {
	for _, c := range []struct{ name, website, want string }{
		{"Ann", "", "Ann"},
		{"<b>Ann</b>", "", "&lt;b&gt;Ann&lt;/b&gt;"},
		{"Ann & Bob", "https://ann.example/", `<a href="https://ann.example/" rel="` + rel + `">Ann &amp; Bob</a>`},
		{"Ann", "HTTP://ann.example", `<a href="http://ann.example" rel="` + rel + `">Ann</a>`},
		{"Ann", "https://a.example/?x=1&y=\"2\"", "Ann"},
		{"Ann", "javascript:alert(1)", "Ann"},
		{"Ann", "JavaScript://a.example/%0aalert(1)", "Ann"},
		{"Ann", "data:text/html,<script>alert(1)</script>", "Ann"},
		{"Ann", "vbscript:msgbox(1)", "Ann"},
		{"Ann", "//evil.example", "Ann"},
		{"Ann", "https://bank.example@evil.example", "Ann"},
		{"Ann", "ann.example", "Ann"},
		{"Ann", "https:///nohost", "Ann"},
	} {
		if got := string(comments.AuthorLink(c.name, c.website)); got != c.want {
			t.Errorf("AuthorLink(%q, %q) = %q, want %q", c.name, c.website, got, c.want)
		}
	}
}

// xssPayloads are stored-XSS attempts a comment might carry.
var xssPayloads = []string{
	`<script>alert(1)</script>`,
	`<ScRiPt>alert(1)</sCrIpT>`,
	`<scr<script>ipt>alert(1)</scr</script>ipt>`,
	`<<script>script>alert(1)<</script>/script>`,
	"<scr\x00ipt>alert(1)</scr\x00ipt>",
	`"><script>alert(1)</script>`,
	`'><img src=x onerror=alert(1)>`,
	`</p><script>alert(1)</script><p>`,
	`<img src=x onerror=alert(1)>`,
	`<img src="x" onerror="alert(1)"`,
	`<img src=x:alert(alt) onerror=eval(src) alt=0>`,
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<body onload=alert(1)>`,
	`<input autofocus onfocus=alert(1)>`,
	`<details open ontoggle=alert(1)>`,
	`<x onmouseover=alert(1)>hover me`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<object data="data:text/html,<script>alert(1)</script>">`,
	`<embed src="javascript:alert(1)">`,
	`<form action="javascript:alert(1)"><button>go</button></form>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<link rel=stylesheet href="https://evil.example/x.css">`,
	`<style>body{background:url("javascript:alert(1)")}</style>`,
	`<div style="width: expression(alert(1))">x</div>`,
	`<a href="javascript:alert(1)">click</a>`,
	`<a href=" JaVaScRiPt:alert(1)">click</a>`,
	`<a href="https://ok.example" onclick="alert(1)">ok</a>`,
	`javascript:alert(document.cookie)`,
	`data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==`,
	`vbscript:msgbox(1)`,
	`&lt;script&gt;alert(1)&lt;/script&gt;`,
	`&#60;script&#62;alert(1)&#60;/script&#62;`,
	`&#x3C;img src=x onerror=alert(1)&#x3E;`,
	`\x3cscript\x3ealert(1)\x3c/script\x3e`,
	`<!--<script>alert(1)//-->`,
	`<![CDATA[<script>alert(1)</script>]]>`,
	"\u202e<script>alert(1)</script>\u202c",
	`https://example.org/"onmouseover="alert(1)`,
	`https://example.org/'onmouseover='alert(1)`,
	`https://example.org/<script>alert(1)</script>`,
	`https://example.org/?q=<img/src/onerror=alert(1)>`,
	`https://javascript:alert(1)`,
	`http://"><script>alert(1)</script>`,
	"https://evil.example/\u202egnp.exe",
	`＜script＞alert(1)＜/script＞`,
	"<scr\nipt>alert(1)</script>",
	"line one\n\n<script>\nalert(1)\n</script>",
}

// ownTags matches exactly the markup RenderBody writes itself.
var ownTags = regexp.MustCompile(`</?p>|<br>|<a href="https?://[^"<>]*" rel="` + rel + `">|</a>`)

func TestRenderBodyXSS(t *testing.T) {
	if len(xssPayloads) < 30 {
		t.Fatalf("only %d payloads", len(xssPayloads))
	}
	for _, p := range xssPayloads {
		for _, in := range []string{p, "Nice story. " + p + " Thanks!", strings.ToUpper(p)} {
			out := string(comments.RenderBody(in))
			if rest := ownTags.ReplaceAllString(out, ""); strings.Contains(rest, "<") {
				t.Errorf("RenderBody(%q) lets a raw '<' through: %q", in, out)
			}
			checkRendered(t, in, out)
		}
		out := string(comments.AuthorLink(p, p))
		if rest := ownTags.ReplaceAllString(out, ""); strings.Contains(rest, "<") {
			t.Errorf("AuthorLink(%q, %q) lets a raw '<' through: %q", p, p, out)
		}
	}
}

// checkRendered parses out as a browser would and fails unless it holds only
// p, br and a elements, every a with an http(s) href and the rel and nothing
// else, and the same text as in (ignoring white space and the characters
// RenderBody drops).
func checkRendered(t *testing.T, in, out string) {
	t.Helper()
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(out), body)
	if err != nil {
		t.Fatalf("parsing %q: %v", out, err)
	}
	var text strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			text.WriteString(n.Data)
		case html.ElementNode:
			switch n.DataAtom {
			case atom.P, atom.Br:
				if len(n.Attr) != 0 {
					t.Errorf("RenderBody(%q): <%s> with attributes %v", in, n.Data, n.Attr)
				}
			case atom.A:
				if len(n.Attr) != 2 {
					t.Errorf("RenderBody(%q): <a> with attributes %v", in, n.Attr)
				}
				for _, a := range n.Attr {
					switch {
					case a.Key == "href" && (strings.HasPrefix(a.Val, "http://") || strings.HasPrefix(a.Val, "https://")):
					case a.Key == "rel" && a.Val == rel:
					default:
						t.Errorf("RenderBody(%q): <a> with %s=%q", in, a.Key, a.Val)
					}
				}
			default:
				t.Errorf("RenderBody(%q) = %q: holds a <%s> element", in, out, n.Data)
			}
		default:
			t.Errorf("RenderBody(%q) = %q: holds a node of type %d", in, out, n.Type)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	for _, n := range nodes {
		walk(n)
	}
	if got, want := squeeze(text.String()), squeeze(visible(in)); got != want {
		t.Errorf("RenderBody(%q): text %q, want %q", in, got, want)
	}
}

// visible is the text RenderBody keeps: valid UTF-8, without control
// characters other than white space.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// squeeze drops all white space.
func squeeze(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

func FuzzRenderBody(f *testing.F) {
	for _, p := range xssPayloads {
		f.Add(p)
	}
	for _, s := range []string{"", "a\n\nb\nc", "https://a.example/(x)).", "www.a.example", "HTTP://A.EXAMPLE/%zz", "\xff\xfe", "a\r\rb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(comments.RenderBody(in))
		if !utf8.ValidString(out) {
			t.Fatalf("RenderBody(%q) = %q: not valid UTF-8", in, out)
		}
		if rest := ownTags.ReplaceAllString(out, ""); strings.Contains(rest, "<") {
			t.Fatalf("RenderBody(%q) lets a raw '<' through: %q", in, out)
		}
		checkRendered(t, in, out)
	})
}

func BenchmarkRenderBody(b *testing.B) {
	typical := strings.Repeat("Metadata is the message: who called whom, when, and for how long. "+
		"See https://www.eff.org/issues/metadata (and https://en.wikipedia.org/wiki/Metadata_(disambiguation)).\n\n", 40)
	for name, body := range map[string]string{
		"typical 5000":  typical[:5000],
		"schemes 5000":  strings.Repeat("https://", 625),
		"brackets 5000": "https://a.example/" + strings.Repeat(")", 4982),
		"escapes 5000":  strings.Repeat("<&>\"'", 1000),
	} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				comments.RenderBody(body)
			}
		})
	}
}
