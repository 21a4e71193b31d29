package views

import (
	"slices"
	"strings"
	"testing"
)

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
