package comments

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// The reasons a comment is held or judged spam, as stored in Comment.Reason
// (besides "N links" for a comment with N ≥ 2 links).
const (
	ReasonFirst      = "first comment"
	ReasonModeration = "moderation word"
	ReasonBlock      = "block word"
	ReasonHoneypot   = "honeypot"
	ReasonTooFast    = "too fast"
)

// MaxLinks is the most links a comment may hold and still be published at
// once: with more it is held, whoever wrote it.
const MaxLinks = 1

// verdict is what the rules make of a comment before anyone has read it.
type verdict struct {
	Status Status
	Reason string
}

// signals are the facts about a submission the rules look at.
type signals struct {
	Author, Website, Body string
	Honeypot              string
	// Elapsed is the time between serving the form and getting it back;
	// negative or zero when unknown.
	Elapsed time.Duration
}

// judge applies the rules in order of severity: spam first (honeypot, too
// fast, block word), then held (links, moderation word), then held as a first
// comment unless returning says the commenter was approved before. returning
// is called only when nothing else decided.
func (s *Service) judge(sig signals, returning func() (bool, error)) (verdict, error) {
	text := sig.Author + "\n" + sig.Website + "\n" + sig.Body
	switch {
	case sig.Honeypot != "":
		return verdict{Spam, ReasonHoneypot}, nil
	case sig.Elapsed < MinFormTime:
		return verdict{Spam, ReasonTooFast}, nil
	case s.block.matches(text):
		return verdict{Spam, ReasonBlock}, nil
	}
	if n := countLinks(sig.Body); n > MaxLinks {
		return verdict{Pending, fmt.Sprintf("%d links", n)}, nil
	}
	if s.moderate.matches(text) {
		return verdict{Pending, ReasonModeration}, nil
	}
	ok, err := returning()
	if err != nil {
		return verdict{}, err
	}
	if !ok {
		return verdict{Pending, ReasonFirst}, nil
	}
	return verdict{Approved, ""}, nil
}

// countLinks counts the links in a comment's text the way a reader sees
// them: each "http://" or "https://", and each "www." at the start of a word
// that does not follow one of those (so https://www.example.org is one link).
// Case is ignored.
func countLinks(body string) int {
	lower := strings.ToLower(body)
	n := 0
	for i := 0; i < len(lower); {
		rest := lower[i:]
		switch {
		case strings.HasPrefix(rest, "http://"), strings.HasPrefix(rest, "https://"):
			n++
			i += strings.Index(rest, "://") + 3
			if strings.HasPrefix(lower[i:], "www.") {
				i += 4
			}
		case strings.HasPrefix(rest, "www.") && (i == 0 || !wordByte(lower[i-1])):
			n++
			i += 4
		default:
			i++
		}
	}
	return n
}

// wordByte reports whether b belongs to a word for countLinks: an ASCII
// letter or digit, or any byte of a multi-byte character.
func wordByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b >= 0x80
}

// wordList is a list of words and phrases, each kept as its sequence of
// lower-case words.
type wordList [][]string

// newWordList reads the entries of an option; entries without any letter
// or digit are dropped, repeated ones kept once.
func newWordList(entries []string) wordList {
	var l wordList
	for _, e := range entries {
		w := words(e)
		if len(w) == 0 || slices.ContainsFunc(l, func(x []string) bool { return slices.Equal(x, w) }) {
			continue
		}
		l = append(l, w)
	}
	return l
}

// words splits text into lower-case words: runs of letters, digits and
// combining marks. Invisible format characters (zero-width spaces, soft
// hyphens) are dropped first, so "vi\u200bagra" is one word; everything else
// separates words.
func words(text string) []string {
	text = strings.Map(func(r rune) rune {
		if unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, text)
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.M, r)
	})
}

// matches reports whether text holds one of the list's entries as whole
// words, in a row, ignoring case: "Casino" matches "Best casino!" but not
// "casinos"; "buy now" matches "BUY-NOW".
func (l wordList) matches(text string) bool {
	if len(l) == 0 {
		return false
	}
	ws := words(text)
	for _, entry := range l {
		for i := 0; i+len(entry) <= len(ws); i++ {
			if slices.Equal(ws[i:i+len(entry)], entry) {
				return true
			}
		}
	}
	return false
}
