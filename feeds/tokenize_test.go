package feeds

import (
	"slices"
	"strings"
	"testing"
)

func tokens(s string) []string {
	var out []string
	var tz tokenizer
	tz.reset(s)
	for tz.next() {
		out = append(out, string(tz.token()))
	}
	return out
}

func TestTokenizer(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"WhatsApp's end-to-end encryption", []string{"whatsapp", "end", "to", "end", "encryption"}},
		{"Don't track me’s", []string{"dont", "track", "me"}},
		{"'quote' words", []string{"quote", "word"}},
		{"Breaches, leaks & LEAKED data!", []string{"breach", "leak", "leak", "data"}},
		{"companies addresses lies", []string{"company", "address", "lie"}},
		{"tracking tracked tracks", []string{"track", "track", "track"}},
		{"fined fines fine", []string{"fine", "fine", "fine"}},
		{"banned scanning shared stored", []string{"ban", "scan", "share", "store"}},
		{"ads nsa ios gps", []string{"ads", "nsa", "ios", "gps"}},
		{"analysis virus access", []string{"analysis", "virus", "access"}},
		{"Überwachung in München", []string{"überwachung", "in", "münchen"}},
		{"5G e2ee U.S.", []string{"5g", "e2ee", "u", "s"}},
		{"", nil},
		{"— … ''", nil},
	} {
		if got := tokens(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("tokens(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := tokens(strings.Repeat("ab", 40) + " " + strings.Repeat("é", 40))
	if len(long) != 2 || len(long[0]) != maxTokenLen || len(long[1]) > maxTokenLen {
		t.Errorf("long word: %q", long)
	}
}

func TestStopTokens(t *testing.T) {
	for _, w := range []string{"the", "says", "2026", "x"} {
		if !isStopToken([]byte(foldWord(w))) {
			t.Errorf("%q is not a stop token", w)
		}
	}
	for _, w := range []string{"whatsapp", "metadata", "5g"} {
		if isStopToken([]byte(foldWord(w))) {
			t.Errorf("%q is a stop token", w)
		}
	}
}

func FuzzTokenizer(f *testing.F) {
	f.Add("WhatsApp's end-to-end encryption")
	f.Add("’s'\xff\xfeabc")
	f.Fuzz(func(t *testing.T, s string) {
		var tz tokenizer
		tz.reset(s)
		for n := 0; tz.next(); n++ {
			tok := tz.token()
			if len(tok) == 0 || len(tok) > maxTokenLen {
				t.Fatalf("token %q", tok)
			}
			if n > len(s) {
				t.Fatalf("more tokens than bytes in %q", s)
			}
		}
	})
}
