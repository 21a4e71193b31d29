package feeds

import (
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Plain text from HTML, for summaries and titles.

// textBuilder collects plain text with control characters dropped and each
// run of white space made one space, trimmed at both ends. It stops taking
// text once it holds more than limit runes (limit < 0: no limit), as a
// summary needs only its first few hundred characters.
type textBuilder struct {
	b     strings.Builder
	space bool // white space is pending
	runes int
	limit int
}

func (t *textBuilder) full() bool { return t.limit >= 0 && t.runes > t.limit }

// breakWords keeps the words before and after apart, as a block tag does.
func (t *textBuilder) breakWords() { t.space = true }

// write adds s, which must be valid UTF-8.
func (t *textBuilder) write(s string) {
	for i := 0; i < len(s) && !t.full(); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case c == ' ' || c >= '\t' && c <= '\r':
				t.space = true
				continue
			case c < 0x20 || c == 0x7f:
				continue
			}
			t.separate()
			t.b.WriteByte(c)
			t.runes++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case unicode.IsSpace(r):
			t.space = true
			continue
		case unicode.IsControl(r), r == '\u200b', r == '\ufeff':
			continue
		}
		t.separate()
		t.b.WriteRune(r)
		t.runes++
	}
}

// separate writes the pending space, unless the text is still empty.
func (t *textBuilder) separate() {
	if t.space && t.b.Len() > 0 {
		t.b.WriteByte(' ')
		t.runes++
	}
	t.space = false
}

func (t *textBuilder) String() string { return t.b.String() }

// collapseSpace drops control characters and replaces each run of white space
// with one space, trimming both ends.
func collapseSpace(s string) string {
	t := textBuilder{limit: -1}
	t.b.Grow(len(s))
	t.write(validUTF8(s))
	return t.String()
}

// textSkipped are the elements whose content the tokenizer reads as raw text
// and a reader never sees as prose.
var textSkipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Iframe: true,
	atom.Noembed: true, atom.Noframes: true, atom.Xmp: true, atom.Title: true,
	atom.Textarea: true, atom.Plaintext: true,
}

// htmlToText returns the text of an HTML fragment or plain text: tags gone,
// entities decoded, white space collapsed; only the first limit runes or so
// when limit ≥ 0.
func htmlToText(s string, limit int) string {
	t := textBuilder{limit: limit}
	if !strings.ContainsAny(s, "<&") {
		t.write(validUTF8(s))
		return t.String()
	}
	z := xhtml.NewTokenizer(strings.NewReader(s))
	skipText := false
	for !t.full() {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return t.String()
		case xhtml.TextToken:
			if !skipText {
				t.write(validUTF8(string(z.Text())))
			}
			skipText = false
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken, xhtml.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if textBreaks[a] {
				t.breakWords()
			}
			skipText = tt == xhtml.StartTagToken && textSkipped[a]
		default:
			skipText = false
		}
	}
	return t.String()
}

// sanitisedText is htmlToText for the output of CleanHTML, read in one cheap
// pass: the sanitiser escapes every '<' and '>' in text and attribute
// values, so each '<' opens a tag that the next '>' closes, and the content
// holds no element whose text a reader does not see.
func sanitisedText(s string, limit int) string {
	t := textBuilder{limit: limit}
	for s != "" && !t.full() {
		text, rest, tag := s, "", false
		if lt := strings.IndexByte(s, '<'); lt >= 0 {
			text, rest, tag = s[:lt], s[lt+1:], true
		}
		if strings.IndexByte(text, '&') >= 0 {
			text = html.UnescapeString(text)
		}
		t.write(text)
		if !tag {
			break
		}
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			break
		}
		name := strings.TrimPrefix(rest[:gt], "/")
		if end := strings.IndexAny(name, " /"); end >= 0 {
			name = name[:end]
		}
		if textBreaks[atom.Lookup([]byte(name))] {
			t.breakWords()
		}
		s = rest[gt+1:]
	}
	return t.String()
}

// hasImage reports whether s may hold an image tag ("<img", or "<image",
// which HTML reads as one), in any case.
func hasImage(s string) bool {
	for {
		lt := strings.IndexByte(s, '<')
		if lt < 0 || len(s)-lt < 3 {
			return false
		}
		if s[lt+1]|0x20 == 'i' && s[lt+2]|0x20 == 'm' {
			return true
		}
		s = s[lt+1:]
	}
}

// validUTF8 is s with each run of invalid bytes replaced by U+FFFD; valid
// text, the common case, is only checked (which is much cheaper).
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
