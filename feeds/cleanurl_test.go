package feeds

import (
	"net/url"
	"strings"
	"testing"
)

func TestCanonicalURL(t *testing.T) {
	base, _ := url.Parse("https://news.example.org/section/page.html?x=1#top")
	tests := []struct {
		name, raw string
		base      *url.URL
		want      string // "" means an error is expected
	}{
		{"already canonical", "https://example.com/a?b=c", nil, "https://example.com/a?b=c"},
		{"spaces trimmed", "  \thttps://example.com/a\n", nil, "https://example.com/a"},
		{"scheme and host lower-cased", "HTTPS://Example.COM/Path", nil, "https://example.com/Path"},
		{"empty path becomes slash", "http://example.com", nil, "http://example.com/"},
		{"empty path with query", "http://example.com?q=1", nil, "http://example.com/?q=1"},
		{"default http port dropped", "http://example.com:80/a", nil, "http://example.com/a"},
		{"default https port dropped", "https://example.com:443/a", nil, "https://example.com/a"},
		{"other port kept", "https://example.com:8443/a", nil, "https://example.com:8443/a"},
		{"https port on http kept", "http://example.com:443/a", nil, "http://example.com:443/a"},
		{"port leading zeros", "http://example.com:0080/a", nil, "http://example.com/a"},
		{"empty port", "http://example.com:/a", nil, "http://example.com/a"},
		{"fragment dropped", "https://example.com/a#section-2", nil, "https://example.com/a"},
		{"userinfo dropped", "https://user:secret@example.com/a", nil, "https://example.com/a"},
		{"trailing dot in host", "https://example.com./a", nil, "https://example.com/a"},
		{"IDNA host", "https://bücher.example/ä", nil, "https://xn--bcher-kva.example/%C3%A4"},
		{"IDNA upper case", "https://BÜCHER.example/", nil, "https://xn--bcher-kva.example/"},
		{"IPv4 host", "http://192.0.2.1:8080/", nil, "http://192.0.2.1:8080/"},
		{"IPv6 host", "http://[2001:DB8::1]:80/", nil, "http://[2001:db8::1]/"},
		{"dot segments removed", "https://example.com/a/./b/../c", nil, "https://example.com/a/c"},
		{"utm dropped, order kept", "https://example.com/?z=1&utm_source=rss&a=2&UTM_Medium=x&m=3", nil, "https://example.com/?z=1&a=2&m=3"},
		{"every tracking param dropped", "https://example.com/p?" + allTrackingQuery() + "&keep=1", nil, "https://example.com/p?keep=1"},
		{"encoded tracking name", "https://example.com/p?utm%5Fsource=x&k=v", nil, "https://example.com/p?k=v"},
		{"only tracking leaves no ?", "https://example.com/p?utm_campaign=a&fbclid=b", nil, "https://example.com/p"},
		{"empty query pieces dropped", "https://example.com/p?&a=1&&b=2&", nil, "https://example.com/p?a=1&b=2"},
		{"lookalike params kept", "https://example.com/p?utm=1&xfbclid=2&ref=3", nil, "https://example.com/p?utm=1&xfbclid=2&ref=3"},
		{"query encoding kept", "https://example.com/p?q=a+b&r=%2F", nil, "https://example.com/p?q=a+b&r=%2F"},
		{"bad query bytes escaped", "https://example.com/p?q=a b&r=<x>&s=%zz", nil, "https://example.com/p?q=a%20b&r=%3Cx%3E&s=%25zz"},
		{"path escaped", "https://example.com/a b/é", nil, "https://example.com/a%20b/%C3%A9"},
		{"force query dropped", "https://example.com/p?", nil, "https://example.com/p"},

		{"relative path", "other.html", base, "https://news.example.org/section/other.html"},
		{"root relative", "/x/y?utm_source=a", base, "https://news.example.org/x/y"},
		{"protocol relative", "//cdn.example.net/a", base, "https://cdn.example.net/a"},
		{"parent path", "../up", base, "https://news.example.org/up"},
		{"fragment only gives base", "#frag", base, "https://news.example.org/section/page.html?x=1"},
		{"absolute ignores base", "http://other.example/", base, "http://other.example/"},

		{"javascript", "javascript:alert(1)", nil, ""},
		{"javascript upper", "JavaScript:alert(1)", base, ""},
		{"javascript with spaces", "  javascript:alert(1)", base, ""},
		{"javascript with tab", "java\tscript:alert(1)", base, ""},
		{"data", "data:text/html;base64,PHNjcmlwdD4=", base, ""},
		{"vbscript", "vbscript:msgbox(1)", base, ""},
		{"mailto", "mailto:a@example.com", base, ""},
		{"file", "file:///etc/passwd", nil, ""},
		{"ftp", "ftp://example.com/a", nil, ""},
		{"relative without base", "/a/b", nil, ""},
		{"protocol relative without base", "//example.com/a", nil, ""},
		{"empty", "", nil, ""},
		{"empty host", "http:///a", nil, ""},
		{"opaque http", "http:example.com", nil, ""},
		{"bad port", "http://example.com:99999/", nil, ""},
		{"zero port", "http://example.com:0/", nil, ""},
		{"host with bad char", "http://exa*mple.com/", nil, ""},
		{"control character", "http://example.com/\x01", nil, ""},
		{"IPv6 zone", "http://[fe80::1%25eth0]/", nil, ""},
		{"too long", "https://example.com/" + strings.Repeat("a", maxURLLen), nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CanonicalURL(tt.raw, tt.base)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("CanonicalURL(%q) = %q, want an error", tt.raw, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("CanonicalURL(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("CanonicalURL(%q) = %q, want %q", tt.raw, got, tt.want)
			}
			again, err := CanonicalURL(got, nil)
			if err != nil || again != got {
				t.Fatalf("not idempotent: %q -> %q, %v", got, again, err)
			}
		})
	}
}

func TestCanonicalURLRelativeToJavascriptBase(t *testing.T) {
	// A base taken from a hostile xml:base must not turn a relative link into
	// a script URL.
	base, err := url.Parse("javascript:alert(1)//")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"page.html", "/page", "?q=1", "", "#x"} {
		if got, err := CanonicalURL(raw, base); err == nil {
			t.Errorf("CanonicalURL(%q, javascript base) = %q, want an error", raw, got)
		}
	}
}

// allTrackingQuery returns a query holding every listed tracking parameter.
func allTrackingQuery() string {
	parts := []string{"utm_source=a", "utm_medium=b", "utm_campaign=c", "utm_term=d", "utm_content=e", "utm_id=f"}
	for name := range trackingParams {
		parts = append(parts, name+"=1")
	}
	return strings.Join(parts, "&")
}

func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/a?b=c#d",
		"HTTP://User:Pw@EXAMPLE.com:80/%7Efoo/../bar?utm_source=x&a=1",
		"//example.com/x",
		"/relative/path?q= a b",
		"https://bücher.example/ä?ö=ü",
		"http://[2001:db8::1]:8080/",
		"http://[::ffff:192.0.2.1]/",
		"javascript:alert(1)",
		"data:text/html,<script>",
		"https://example.com/?a=%zz&b=%2&c=%",
		"http://example.com/a%2Fb/%2e%2E/c",
		"https://xn--bcher-kva.example/",
		"http://a_b.example.com/",
		"https://example.com/p?&&&",
		"https://example.com/p?#",
		"http://%C3%BC.example/",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://base.example/dir/page?x=1")
	f.Fuzz(func(t *testing.T, raw string) {
		for _, b := range []*url.URL{nil, base} {
			out, err := CanonicalURL(raw, b)
			if err != nil {
				continue
			}
			again, err := CanonicalURL(out, nil)
			if err != nil {
				t.Fatalf("CanonicalURL(%q) = %q, which is rejected: %v", raw, out, err)
			}
			if again != out {
				t.Fatalf("not idempotent: %q -> %q -> %q", raw, out, again)
			}
			u, err := url.Parse(out)
			if err != nil {
				t.Fatalf("output %q does not parse: %v", out, err)
			}
			if u.Scheme != "http" && u.Scheme != "https" {
				t.Fatalf("output %q has scheme %q", out, u.Scheme)
			}
			if strings.Contains(out, "#") || u.User != nil || u.Host == "" {
				t.Fatalf("output %q has a fragment, user or no host", out)
			}
			for _, kv := range strings.Split(u.RawQuery, "&") {
				name, _, _ := strings.Cut(kv, "=")
				if isTrackingParam(name) {
					t.Fatalf("output %q keeps tracking parameter %q", out, name)
				}
			}
		}
	})
}
