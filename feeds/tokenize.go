package feeds

import (
	"unicode"
	"unicode/utf8"
)

// The one tokenizer shared by the Classifier and the Relater, so that a word
// means the same thing to both. A token is a run of letters and digits,
// lower-cased, with a possessive 's dropped and apostrophes removed
// ("WhatsApp's" → "whatsapp", "don't" → "dont"); everything else — hyphens
// included ("end-to-end" → end, to, end) — separates tokens. Each token is then
// folded by foldToken so that simple inflections meet: plurals ("breaches",
// "companies"), -ed and -ing ("tracked", "tracking" → "track"; "fined" →
// "fine"). The folding is deliberately small: a vocabulary lists the few
// surface forms it does not merge.

// maxTokenLen caps a token's length in bytes; longer runs are cut (no real
// word needs more, and the cap keeps the token buffer on the stack).
const maxTokenLen = 40

// tokenizer walks a string token by token without allocating:
//
//	var tz tokenizer
//	tz.reset(s)
//	for tz.next() { use(tz.token()) }
type tokenizer struct {
	s   string
	i   int
	n   int
	buf [maxTokenLen + utf8.UTFMax]byte
}

func (t *tokenizer) reset(s string) { t.s, t.i, t.n = s, 0, 0 }

// token is the current folded token; it is only valid until the next call to
// next.
func (t *tokenizer) token() []byte { return t.buf[:t.n] }

// next advances to the next token and reports whether there is one.
func (t *tokenizer) next() bool {
	s := t.s
	for t.i < len(s) {
		t.n = 0
		// Skip separators.
		for t.i < len(s) {
			c := s[t.i]
			if c < utf8.RuneSelf {
				if isWordByte(c) {
					break
				}
				t.i++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[t.i:])
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				break
			}
			t.i += size
		}
		// Read one word.
		for t.i < len(s) {
			c := s[t.i]
			if c < utf8.RuneSelf {
				if isWordByte(c) {
					t.add(lowerASCII(c))
					t.i++
					continue
				}
				if c == '\'' {
					if t.apostrophe(1) {
						continue
					}
				}
				break
			}
			r, size := utf8.DecodeRuneInString(s[t.i:])
			if r == '\u2019' { // typographic apostrophe
				if t.apostrophe(size) {
					continue
				}
				break
			}
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			if t.n+utf8.UTFMax <= maxTokenLen {
				t.n += utf8.EncodeRune(t.buf[t.n:], unicode.ToLower(r))
			}
			t.i += size
		}
		if t.n > 0 {
			t.n = foldToken(t.buf[:t.n])
			return true
		}
	}
	return false
}

// apostrophe handles an apostrophe of width size at t.i inside a word: it is
// skipped when a letter follows (a possessive 's is dropped with it), and
// reports whether the word goes on.
func (t *tokenizer) apostrophe(size int) bool {
	j := t.i + size
	if j >= len(t.s) || !isWordByte(t.s[j]) {
		return false // a closing quote ends the word
	}
	if (t.s[j] == 's' || t.s[j] == 'S') && (j+1 >= len(t.s) || !isWordByte(t.s[j+1])) {
		t.i = j + 1 // possessive: the word ends here
		return false
	}
	t.i = j
	return true
}

func (t *tokenizer) add(c byte) {
	if t.n < maxTokenLen {
		t.buf[t.n] = c
		t.n++
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// foldToken folds the lower-case word w in place and returns its new length.
// Words of three bytes or fewer are left alone ("ads", "nsa", "ios").
func foldToken(w []byte) int {
	n := len(w)
	if n <= 3 {
		return n
	}
	// Plurals.
	switch {
	case hasSuffix(w[:n], "sses"):
		n -= 2 // addresses → address
	case hasSuffix(w[:n], "ies"):
		if n > 4 {
			n -= 2 // companies → company
			w[n-1] = 'y'
		} else {
			n-- // lies → lie
		}
	case hasSuffix(w[:n], "ches"), hasSuffix(w[:n], "shes"), hasSuffix(w[:n], "xes"), hasSuffix(w[:n], "zes"):
		n -= 2 // breaches → breach
	case w[n-1] == 's' && !hasSuffix(w[:n], "ss") && !hasSuffix(w[:n], "us") && !hasSuffix(w[:n], "is"):
		n-- // leaks → leak
	}
	// -ed and -ing, when a stem with a vowel of at least three letters is left.
	stem := 0
	switch {
	case hasSuffix(w[:n], "ing") && n-3 >= 3 && hasVowel(w[:n-3]):
		stem = n - 3
	case hasSuffix(w[:n], "ed") && n-2 >= 3 && hasVowel(w[:n-2]):
		stem = n - 2
	}
	if stem == 0 {
		return n
	}
	n = stem
	a, b := w[n-2], w[n-1]
	switch {
	case a == b && !isVowel(b) && b != 'l' && b != 's' && b != 'z':
		n-- // banned → ban, scanning → scan
	case n <= 4 && isCVC(w[:n]):
		w[n] = 'e' // fined → fine, shared → share, stored → store
		n++
	}
	return n
}

func hasSuffix(w []byte, suffix string) bool {
	return len(w) >= len(suffix) && string(w[len(w)-len(suffix):]) == suffix
}

func isVowel(c byte) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'
}

func hasVowel(w []byte) bool {
	for i, c := range w {
		if isVowel(c) || c == 'y' && i > 0 {
			return true
		}
	}
	return false
}

// isCVC reports whether w ends consonant, vowel, consonant, the last not w, x
// or y: the short stems that lost a final e ("fin" from "fined").
func isCVC(w []byte) bool {
	n := len(w)
	if n < 3 {
		return false
	}
	c := w[n-1]
	return !isVowel(w[n-3]) && isVowel(w[n-2]) && !isVowel(c) && c != 'w' && c != 'x' && c != 'y' &&
		c >= 'a' && c <= 'z'
}

// foldWord returns the folded form of one word, for building word lists.
func foldWord(word string) string {
	var tz tokenizer
	tz.reset(word)
	if !tz.next() {
		return ""
	}
	return string(tz.token())
}

// stopTokens are folded words too common to relate stories by.
var stopTokens = func() map[string]struct{} {
	words := []string{
		"a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and",
		"any", "are", "as", "at", "be", "because", "been", "before", "being", "between",
		"both", "but", "by", "can", "could", "did", "do", "does", "doing", "down", "during",
		"each", "few", "for", "from", "further", "get", "gets", "got", "had", "has", "have",
		"having", "he", "her", "here", "hers", "him", "his", "how", "however", "i", "if", "in",
		"into", "is", "it", "its", "just", "last", "like", "make", "makes", "many", "may",
		"me", "more", "most", "much", "must", "my", "new", "news", "no", "nor", "not", "now",
		"of", "off", "on", "once", "one", "only", "or", "other", "our", "out", "over", "own",
		"per", "report", "s", "said", "same", "say", "says", "she", "should", "since", "so",
		"some", "still", "such", "than", "that", "the", "their", "them", "then", "there",
		"these", "they", "this", "those", "through", "to", "too", "two", "under", "until",
		"up", "us", "very", "was", "way", "we", "were", "what", "when", "where", "which",
		"while", "who", "whom", "why", "will", "with", "would", "year", "years", "yet", "you",
		"your", "percent", "million", "billion", "first", "week", "month", "day", "today",
		"company", "firm", "uses", "use", "used", "using", "than", "least", "even", "every",
		"people", "time", "next", "now", "three", "four", "five", "six", "ten",
	}
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[foldWord(w)] = struct{}{}
	}
	return m
}()

// isStopToken reports whether a folded token carries no topic: a stop word, a
// single character or a number.
func isStopToken(tok []byte) bool {
	if len(tok) < 2 {
		return true
	}
	digits := true
	for _, c := range tok {
		if c < '0' || c > '9' {
			digits = false
			break
		}
	}
	if digits {
		return true
	}
	_, ok := stopTokens[string(tok)]
	return ok
}
