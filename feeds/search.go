package feeds

import (
	"errors"
	"unicode"
	"unicode/utf8"
)

// Full-text search over the titles and summaries of visible stories.
//
// Both stores index a text as IndexTerms makes it and parse a query with
// ParseSearch, so a word means the same thing to the index, to the query and
// to every store: the shared tokenizer's tokens (lower-cased, possessives and
// apostrophes dropped, plurals and -ed/-ing folded: "Breaches" and "breach"
// meet), minus one-letter tokens and common English function words.
//
// Matching rules, the same on every store:
//   - Every term must occur in the story's title or summary (AND).
//   - Terms match whole words, except the last one, which also matches as a
//     prefix: "encrypt" finds "encryption", "whatsapp enc" finds "WhatsApp
//     end-to-end encryption", but "encrypt whatsapp" needs the word "encrypt"
//     (or "encrypted", "encrypting", which fold to it).
//   - No operators: quotes, *, -, OR, NEAR, column names and the like are
//     plain text (most of it separators), never query syntax.
//   - Ranking is BM25 (k1 1.2, b 0.75) with a title occurrence counting three
//     times a summary one; equal scores list the newest story first, then the
//     highest ID. A store may cap how many words a prefix expands to (Redis:
//     50, the lexically first), so a very short last term may miss some.

// Limits of a search query.
const (
	// MaxSearchChars is the longest query accepted, in characters.
	MaxSearchChars = 200
	// MaxSearchTerms is how many terms of a query are used; later ones are
	// ignored.
	MaxSearchTerms = 10
	// DefaultSearchLimit is the page size when SearchQuery.Limit is 0 or less.
	DefaultSearchLimit = 30
	// MaxSearchLimit caps SearchQuery.Limit.
	MaxSearchLimit = 100
	// TitleWeight is how many summary occurrences one title occurrence of a
	// term is worth when ranking.
	TitleWeight = 3
)

// SearchQuery asks a Store for the visible stories matching Text, a page at
// a time.
type SearchQuery struct {
	Text string // what the reader typed; see ParseSearch
	// Limit is the page size: 0 or less means DefaultSearchLimit, more than
	// MaxSearchLimit means MaxSearchLimit.
	Limit  int
	Offset int // stories to skip; less than 0 means 0
}

// Page returns the query's limit and offset with the defaults and caps
// applied.
func (q SearchQuery) Page() (limit, offset int) {
	limit = q.Limit
	if limit <= 0 {
		limit = DefaultSearchLimit
	}
	return min(limit, MaxSearchLimit), max(q.Offset, 0)
}

// SearchResult is one page of search results.
type SearchResult struct {
	Stories []Story // best match first; nil when the page is empty
	Total   int     // how many stories match, on all pages
}

// ErrBadQuery is the error (matched with errors.Is) for a search query that
// cannot be run: empty, only common words, too long, or not plain text. The
// error is a *BadQueryError, whose Reason can be shown to the reader.
var ErrBadQuery = errors.New("feeds: bad search query")

// BadQueryError says why a search query was refused, in words for the
// reader. errors.Is(err, ErrBadQuery) holds for it.
type BadQueryError struct {
	Reason string // one sentence, e.g. "Type one or more words to search for."
}

// Error names the package and gives the reason.
func (e *BadQueryError) Error() string { return ErrBadQuery.Error() + ": " + e.Reason }

// Is makes a BadQueryError match ErrBadQuery.
func (e *BadQueryError) Is(target error) bool { return target == ErrBadQuery }

func badQuery(reason string) error { return &BadQueryError{Reason: reason} }

// ParseSearch turns what a reader typed into search terms: folded words,
// common words dropped, repeats removed, at most MaxSearchTerms, each at most
// 40 bytes. The last term is to be matched as a prefix as well as a whole
// word (see the matching rules above). A query that is empty, longer than
// MaxSearchChars characters, not valid UTF-8, holds control characters, or
// has no usable word yields a *BadQueryError.
func ParseSearch(text string) ([]string, error) {
	if !utf8.ValidString(text) {
		return nil, badQuery("The search is not valid text.")
	}
	if utf8.RuneCountInString(text) > MaxSearchChars {
		return nil, badQuery("The search is too long: use at most 200 characters.")
	}
	blank := true
	for _, r := range text {
		if unicode.IsControl(r) {
			return nil, badQuery("The search contains control characters; type plain words.")
		}
		if !unicode.IsSpace(r) {
			blank = false
		}
	}
	if blank {
		return nil, badQuery("Type one or more words to search for.")
	}
	var terms []string
	var tz tokenizer
	tz.reset(text)
	for tz.next() && len(terms) < MaxSearchTerms {
		tok := tz.token()
		if isSearchStopToken(tok) || containsTerm(terms, tok) {
			continue
		}
		terms = append(terms, string(tok))
	}
	if len(terms) == 0 {
		return nil, badQuery("The search has only very common words or single letters; add a more specific word.")
	}
	return terms, nil
}

func containsTerm(terms []string, tok []byte) bool {
	for _, t := range terms {
		if t == string(tok) {
			return true
		}
	}
	return false
}

// IndexTerms lists the terms a store indexes for text, in order and with
// repeats: the same folding and stop words as ParseSearch.
func IndexTerms(text string) []string {
	var terms []string
	var tz tokenizer
	tz.reset(text)
	for tz.next() {
		if tok := tz.token(); !isSearchStopToken(tok) {
			terms = append(terms, string(tok))
		}
	}
	return terms
}

// isSearchStopToken reports whether a folded token is left out of the search
// index: one character, or a common English function word. Numbers stay
// ("2026", "5g"), and so do words that are common in the news but still mean
// something to a reader looking for them ("report", "people").
func isSearchStopToken(tok []byte) bool {
	if utf8.RuneCount(tok) < 2 {
		return true
	}
	_, ok := searchStopTokens[string(tok)]
	return ok
}

// searchStopTokens are folded function words: searching for them alone
// would match almost everything.
var searchStopTokens = func() map[string]struct{} {
	words := []string{
		"about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at",
		"be", "been", "being", "but", "by", "can", "could", "did", "do", "does", "for",
		"from", "had", "has", "have", "he", "her", "him", "his", "how", "if", "in",
		"into", "is", "it", "its", "me", "my", "no", "nor", "not", "of", "off", "on",
		"or", "our", "out", "over", "she", "should", "so", "than", "that", "the",
		"their", "them", "then", "there", "these", "they", "this", "those", "to",
		"too", "up", "us", "was", "we", "were", "what", "when", "where", "which",
		"while", "who", "whom", "why", "will", "with", "would", "you", "your",
	}
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[foldWord(w)] = struct{}{}
	}
	return m
}()
