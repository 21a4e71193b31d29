package feeds_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidings/tidings/feeds"
)

func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"encryption", []string{"encryption"}},
		{"WhatsApp's metadata", []string{"whatsapp", "metadata"}},
		{"Breaches LEAKED tracking", []string{"breach", "leak", "track"}},
		{"the privacy of the people", []string{"privacy", "people"}},
		{"privacy privacy Privacy", []string{"privacy"}},
		{`"encryption" AND NOT title:x*`, []string{"encryption", "title"}},
		{"NEAR(whatsapp, 2)", []string{"near", "whatsapp"}},
		{"5G U.S. 2026", []string{"5g", "2026"}},
		{"Überwachung in München", []string{"überwachung", "münchen"}},
		{"one two three four five six seven eight nine ten eleven twelve",
			[]string{"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"}},
		{strings.Repeat("z", 60), []string{strings.Repeat("z", 40)}},
	} {
		got, err := feeds.ParseSearch(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseSearch(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSearchRefuses(t *testing.T) {
	for _, in := range []string{
		"", " \t", "the of and", "a b c", "— ! ?", "'\"*",
		strings.Repeat("x", 201), strings.Repeat("é", 201),
		"privacy\x00", "privacy\r\n", "\x7f", "priv\u200bacy\u0085", "\xc3",
	} {
		terms, err := feeds.ParseSearch(in)
		var bad *feeds.BadQueryError
		if !errors.Is(err, feeds.ErrBadQuery) || !errors.As(err, &bad) || bad.Reason == "" {
			t.Errorf("ParseSearch(%q) = %q, %v; want a BadQueryError", in, terms, err)
		}
	}
	if _, err := feeds.ParseSearch(strings.Repeat("é", 200)); err != nil {
		t.Errorf("200 characters refused: %v", err)
	}
}

// The index and the query fold alike, so every word a text is indexed under
// is found by a query made of it.
func TestIndexTermsMatchQueries(t *testing.T) {
	text := "WhatsApp's boss clashes with Elon Musk over the data it tracked, 5G e2ee"
	idx := feeds.IndexTerms(text)
	want := []string{"whatsapp", "boss", "clash", "elon", "musk", "data", "track", "5g", "e2ee"}
	if !slices.Equal(idx, want) {
		t.Fatalf("IndexTerms = %q, want %q", idx, want)
	}
	for _, w := range strings.Fields(text) {
		q, err := feeds.ParseSearch(w)
		if err != nil {
			continue // a common word
		}
		if !slices.Contains(idx, q[0]) {
			t.Errorf("query %q parses to %q, which the index lacks", w, q)
		}
	}
}

func TestSearchQueryPage(t *testing.T) {
	for _, tc := range []struct {
		q             feeds.SearchQuery
		limit, offset int
	}{
		{feeds.SearchQuery{}, feeds.DefaultSearchLimit, 0},
		{feeds.SearchQuery{Limit: 5, Offset: 10}, 5, 10},
		{feeds.SearchQuery{Limit: 1000, Offset: -1}, feeds.MaxSearchLimit, 0},
	} {
		if l, o := tc.q.Page(); l != tc.limit || o != tc.offset {
			t.Errorf("%+v.Page() = %d, %d; want %d, %d", tc.q, l, o, tc.limit, tc.offset)
		}
	}
}

func FuzzParseSearch(f *testing.F) {
	for _, s := range []string{"WhatsApp's encryption", `"a" OR b*`, "\x00", "ÜBER", strings.Repeat("ab ", 70)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := feeds.ParseSearch(s)
		if err != nil {
			if !errors.Is(err, feeds.ErrBadQuery) {
				t.Fatalf("ParseSearch(%q): %v is not ErrBadQuery", s, err)
			}
			return
		}
		if len(terms) == 0 || len(terms) > feeds.MaxSearchTerms {
			t.Fatalf("ParseSearch(%q) = %d terms", s, len(terms))
		}
		for _, term := range terms {
			if term == "" || len(term) > 40 || !utf8.ValidString(term) ||
				strings.ContainsAny(term, "\"'*:(){}[]^-+ \t\n") {
				t.Fatalf("ParseSearch(%q): bad term %q", s, term)
			}
		}
	})
}
