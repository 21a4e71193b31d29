package views

import (
	"slices"
	"strings"
	"testing"
)

func TestSlugify(t *testing.T) {
	for title, want := range map[string]string{
		"WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims": "whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims",
		"Café Crème: l’été, don't panic!":                               "cafe-creme-lete-dont-panic",
		"  --EU's  AI Act -- passes (finally)  ":                        "eus-ai-act-passes-finally",
		"日本語のタイトル":                                                      "",
		"":                                                              "",
		"Ｆｕｌｌｗｉｄｔｈ ５Ｇ":                                                  "fullwidth-5g",
		`</script><script>alert(1)</script>`:                            "script-script-alert-1-script",
	} {
		if got := slugify(title); got != want {
			t.Errorf("slugify(%q) = %q, want %q", title, got, want)
		}
	}
	long := slugify(strings.Repeat("Encryption backdoor debate ", 10))
	if len(long) > maxSlugLen || strings.HasSuffix(long, "-") || !strings.HasSuffix(long, "debate") && !strings.HasSuffix(long, "backdoor") && !strings.HasSuffix(long, "encryption") {
		t.Errorf("long slug %q (%d bytes) is not cut at a word", long, len(long))
	}
	if got := slugify(strings.Repeat("x", 200)); len(got) != maxSlugLen {
		t.Errorf("one long word: %d bytes", len(got))
	}
}

func FuzzSlugify(f *testing.F) {
	f.Add("WhatsApp Boss Clashes with Elon Musk")
	f.Add("Ｆｕｌｌｗｉｄｔｈ ﬁ ½ \u0301é")
	f.Fuzz(func(t *testing.T, title string) {
		s := slugify(title)
		if len(s) > maxSlugLen || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("slugify(%q) = %q", title, s)
		}
		if strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Fatalf("slugify(%q) = %q has other characters", title, s)
		}
	})
}

func TestShorten(t *testing.T) {
	if got := shorten("short", 10); got != "short" {
		t.Error(got)
	}
	if got := shorten("Encryption keeps messages private, but metadata leaks", 30); got != "Encryption keeps messages…" {
		t.Errorf("%q", got)
	}
	if got := shorten(strings.Repeat("é", 20), 9); got != "éééé…" {
		t.Errorf("cut inside a rune: %q", got)
	}
}

func TestOutbound(t *testing.T) {
	for raw, want := range map[string]string{
		"https://example.com/a?utm_source=x&id=1": "https://example.com/a?id=1",
		"javascript:alert(1)":                     "",
		"data:text/html,hi":                       "",
		"":                                        "",
		"HTTPS://Example.COM":                     "https://example.com/",
	} {
		if got := outbound(raw); got != want {
			t.Errorf("outbound(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestEveryTemplateIsKnown keeps the route tests honest: every page template
// parsed at start is one the handlers use, and so one the tests render.
func TestEveryTemplateIsKnown(t *testing.T) {
	p, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range p.byName {
		names = append(names, n)
	}
	slices.Sort(names)
	want := slices.Clone(pageNames)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("templates %v, handlers use %v", names, want)
	}
}

func TestStylesheetIsSmall(t *testing.T) {
	if len(styleCSS) >= 20<<10 {
		t.Errorf("stylesheet is %d bytes, want < 20 KB", len(styleCSS))
	}
}
