package newsletter_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/tidings/tidings/newsletter"
)

func TestNormaliseAddressAccepts(t *testing.T) {
	long63 := strings.Repeat("d", 63)
	local64 := strings.Repeat("l", 64)
	max254 := local64 + "@" + long63 + "." + long63 + "." + strings.Repeat("e", 57) + ".org"
	for _, c := range []struct{ in, want string }{
		{"reader@example.org", "reader@example.org"},
		{"  reader@example.org  ", "reader@example.org"},
		{"Reader@Example.ORG", "Reader@example.org"}, // the part before the @ is kept as typed
		{"first.last@example.org", "first.last@example.org"},
		{"reader+tidings@example.org", "reader+tidings@example.org"},
		{"reader@mail.news.example.co.uk", "reader@mail.news.example.co.uk"},
		{"r@my-host.example", "r@my-host.example"},
		{"r@a--b.example", "r@a--b.example"},
		{"007@123.example", "007@123.example"},
		{"r@example.xn--p1ai", "r@example.xn--p1ai"}, // an IDN in its ASCII form
		{"r@xn--bcher-kva.example", "r@xn--bcher-kva.example"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"!#$%&'*+-/?=^_`{|}~@example.org", "!#$%&'*+-/?=^_`{|}~@example.org"},
		{"a%0d%0a@example.org", "a%0d%0a@example.org"}, // literal characters, never decoded
		{"x@" + long63 + ".org", "x@" + long63 + ".org"},
		{local64 + "@example.org", local64 + "@example.org"},
		{max254, max254},
	} {
		got, err := newsletter.NormaliseAddress(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormaliseAddress(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	if len(max254) != 254 {
		t.Fatalf("test address has %d bytes, want 254", len(max254))
	}
}

func TestNormaliseAddressRefuses(t *testing.T) {
	label64 := strings.Repeat("d", 64)
	for _, c := range []struct {
		in   string
		want string // a word the reason must contain
	}{
		// Empty and too long.
		{"", "enter"},
		{"   ", "enter"},
		{strings.Repeat("a", 300) + "@example.org", "254"},
		{strings.Repeat("l", 65) + "@example.org", "64"},
		{strings.Repeat("l", 60) + "@" + strings.Repeat("d.", 97) + "org", "254"},
		// Header injection and control characters.
		{"a@b.org\r\nBcc: x@y.org", "control"},
		{"a@b.org\nBcc: x@y.org", "control"},
		{"a@b.org\r\n", "control"},
		{"a@b.org\x00", "control"},
		{"\ta@b.org", "control"},
		{"a\x7f@b.org", "control"},
		{"a\u0085@b.org", "control"}, // NEL, a C1 control
		{"a@b.org%0d%0aBcc:x@y.org", "more than one @"},
		{"a@b.org%0d%0a", "after the @"},
		{"a%0d%0aBcc:x@y.org", "before the @"},
		// Invisible characters.
		{"a\u200b@b.org", "invisible"},
		{"a@b\u200b.org", "invisible"}, // net/mail accepts this one
		{"a\u200c@b.org", "invisible"},
		{"a\u200d@b.org", "invisible"},
		{"\ufeffa@b.org", "invisible"},
		{"a@b.org\u202e", "invisible"},
		{"a\u2066@b.org", "invisible"},
		{"a\u00ad@b.org", "invisible"},
		{"a\u2060@b.org", "invisible"},
		{"a\u034f@b.org", "invisible"},
		{"a\u3164@b.org", "invisible"},
		{"a\ufe0f@b.org", "invisible"},
		{"a\U000e0041@b.org", "invisible"},
		{"a\u2028@b.org", "control"}, // line separator
		// Spaces.
		{"a b@c.org", "spaces"},
		{"a@b .org", "spaces"},
		{"a\u00a0@b.org", "spaces"},
		{"a@b.org\u3000", "spaces"},
		// Names, brackets, quotes, comments.
		{"Bob <bob@example.org>", "angle brackets"},
		{"<bob@example.org>", "angle brackets"},
		{"=?utf-8?q?Bob=0D=0A?= <bob@example.org>", "angle brackets"},
		{`"bob"@example.org`, "quotation"},
		{`"bob smith"@example.org`, "spaces"},
		{`bo\b@example.org`, "backslash"},
		{"bob(comment)@example.org", "parentheses"},
		{"bob@example.org (Bob)", "spaces"},
		{"bob@(comment)example.org", "parentheses"},
		// The @.
		{"bob.example.org", "no @"},
		{"bob@@example.org", "more than one @"},
		{"a@b@example.org", "more than one @"},
		{"@example.org", "before the @"},
		{"bob@", "after the @"},
		{"mailto:bob@example.org", "before the @"},
		{"bob,alice@example.org", "before the @"},
		// The part before the @.
		{".bob@example.org", "dot"},
		{"bob.@example.org", "dot"},
		{"bo..b@example.org", "dot"},
		{"=?utf-8?b?Ym9i?=@example.org", "=?"},
		{"bo[b]@example.org", "before the @"},
		{"bob;@example.org", "before the @"},
		// Non-ASCII and lookalikes.
		{"jos\u00e9@example.org", "plain letters"},
		{"bob@exampl\u00e9.org", "plain letters"},
		{"b\u043eb@example.org", "plain letters"},  // Cyrillic o
		{"bob@\u0435xample.org", "plain letters"},  // Cyrillic e
		{"bob\uff20example.org", "plain letters"},  // fullwidth @
		{"bob@example\u3002org", "plain letters"},  // ideographic full stop
		{"bob@b\xffad.org", "not valid text"},      // not UTF-8
		{"bob@example.org\u0301", "plain letters"}, // a combining accent
		// The domain.
		{"bob@[192.0.2.1]", "IP address"},
		{"bob@[IPv6:2001:db8::1]", "IP address"},
		{"bob@192.0.2.1", "number"},
		{"bob@example.123", "number"},
		{"bob@localhost", "needs a dot"},
		{"bob@example", "needs a dot"},
		{"bob@.example.org", "dot"},
		{"bob@example.org.", "dot"},
		{"bob@example..org", "dot"},
		{"bob@-example.org", "hyphen"},
		{"bob@example-.org", "hyphen"},
		{"bob@example.org-", "hyphen"},
		{"bob@" + label64 + ".org", "63"},
		{"bob@exa_mple.org", "after the @"},
		{"bob@example.org:25", "after the @"},
		{"bob@example.org/path", "after the @"},
		{"bob@example.org?x=1", "after the @"},
		{"bob@exam!ple.org", "after the @"},
		{"bob@example.org,eve@example.org", "more than one @"},
	} {
		got, err := newsletter.NormaliseAddress(c.in)
		var ae *newsletter.AddressError
		if !errors.As(err, &ae) {
			t.Errorf("NormaliseAddress(%q) = %q, %v; want an *AddressError", c.in, got, err)
			continue
		}
		if got != "" || !strings.Contains(ae.Reason, c.want) {
			t.Errorf("NormaliseAddress(%q) = %q, %q; want a reason with %q", c.in, got, ae.Reason, c.want)
		}
		if !strings.HasSuffix(ae.Reason, ".") || !unicode.IsUpper([]rune(ae.Reason)[0]) {
			t.Errorf("reason %q is not a sentence", ae.Reason)
		}
	}
}

func TestIndexForm(t *testing.T) {
	a, _ := newsletter.NormaliseAddress("Reader.Name+Tag@Example.ORG")
	b, _ := newsletter.NormaliseAddress(" reader.name+tag@example.org")
	if a == b {
		t.Fatalf("the part before the @ lost its case: %q", a)
	}
	if newsletter.IndexForm(a) != newsletter.IndexForm(b) || newsletter.IndexForm(a) != "reader.name+tag@example.org" {
		t.Errorf("IndexForm(%q) = %q, IndexForm(%q) = %q; want both lower case", a, newsletter.IndexForm(a), b, newsletter.IndexForm(b))
	}
}

func FuzzNormaliseAddress(f *testing.F) {
	for _, s := range []string{
		"reader@example.org", " Reader+x@Example.ORG ", "a@b.org\r\nBcc: x@y.org", "Bob <b@x.org>",
		`"q"@x.org`, "a@[1.2.3.4]", "a@b\u200b.org", "a.b@c-d.e-f.gh", "a@b.c0", "x@xn--p1ai.xn--p1ai",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		out, err := newsletter.NormaliseAddress(raw)
		if err != nil {
			var ae *newsletter.AddressError
			if !errors.As(err, &ae) || ae.Reason == "" || out != "" {
				t.Fatalf("NormaliseAddress(%q) = %q, %#v", raw, out, err)
			}
			return
		}
		if len(out) > 254 || strings.Count(out, "@") != 1 {
			t.Fatalf("accepted %q: %d bytes, %d @", out, len(out), strings.Count(out, "@"))
		}
		for _, r := range out {
			if r <= ' ' || r >= 0x7f || unicode.IsSpace(r) || unicode.IsControl(r) {
				t.Fatalf("accepted %q holds %U", out, r)
			}
		}
		if again, err := newsletter.NormaliseAddress(out); err != nil || again != out {
			t.Fatalf("NormaliseAddress(%q) = %q, %v; want it unchanged", out, again, err)
		}
		if !strings.EqualFold(out, strings.Trim(raw, " ")) {
			t.Fatalf("NormaliseAddress(%q) = %q changed more than case and spaces", raw, out)
		}
	})
}
