package comments

import (
	"html"
	"html/template"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// linkRel is the rel of every link a commenter wrote: no ranking credit, marked
// as user content, and no window.opener for the linked page.
const linkRel = "nofollow ugc noopener"

// RenderBody turns a comment's plain text into HTML: paragraphs at blank
// lines, <br> at other line breaks, and http(s) URLs made into links with
// rel="nofollow ugc noopener". Everything else is text, escaped: no markup
// from the commenter survives. Invalid UTF-8 becomes U+FFFD; control
// characters other than tab and line feed are dropped (browsers would do
// odd things with them).
func RenderBody(body string) template.HTML {
	body = stripControls(strings.ToValidUTF8(body, "\uFFFD"))
	var b strings.Builder
	b.Grow(len(body) + len(body)/8 + 16)
	for _, para := range paragraphs(body) {
		b.WriteString("<p>")
		for i, line := range para {
			if i > 0 {
				b.WriteString("<br>\n")
			}
			writeLinked(&b, line)
		}
		b.WriteString("</p>\n")
	}
	return template.HTML(b.String()) // #nosec: built from escaped text and our own tags
}

// paragraphs splits text at blank lines (lines of white space only) into
// paragraphs, each a list of its lines with surrounding white space
// removed. Empty paragraphs are dropped.
func paragraphs(text string) [][]string {
	var out [][]string
	var cur []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// writeLinked writes one line of text, escaped, with its URLs as links.
func writeLinked(b *strings.Builder, line string) {
	for line != "" {
		start, end := findURL(line)
		if start < 0 {
			b.WriteString(html.EscapeString(line))
			return
		}
		b.WriteString(html.EscapeString(line[:start]))
		u := line[start:end]
		writeLink(b, lowerScheme(u), u)
		line = line[end:]
	}
}

// lowerScheme writes the scheme of an http(s) URL in lower case.
func lowerScheme(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	return strings.ToLower(u[:i]) + u[i:]
}

// writeLink writes <a href=u rel=…>text</a>, both escaped. u must be an
// http(s) URL: callers check it.
func writeLink(b *strings.Builder, u, text string) {
	b.WriteString(`<a href="`)
	b.WriteString(html.EscapeString(u))
	b.WriteString(`" rel="` + linkRel + `">`)
	b.WriteString(html.EscapeString(text))
	b.WriteString("</a>")
}

// findURL finds the first http or https URL in s that starts a word (it
// does not follow a letter or digit) and returns its bounds, or -1, -1.
// The scheme is matched ignoring case (links get it in lower case, see
// lowerScheme). A URL ends at white space, a control or format character,
// or one of <>"`; trailing punctuation (.,;:!?'*) and a closing bracket
// without its opening one are left out, so "(see
// https://example.org/a_(b))." links to https://example.org/a_(b).
func findURL(s string) (int, int) {
	for from := 0; from < len(s); {
		i := indexScheme(s[from:])
		if i < 0 {
			return -1, -1
		}
		start := from + i
		if start > 0 {
			if r, _ := utf8.DecodeLastRuneInString(s[:start]); unicode.IsLetter(r) || unicode.IsDigit(r) {
				from = start + 1
				continue
			}
		}
		end := start
		for end < len(s) {
			r, size := utf8.DecodeRuneInString(s[end:])
			if unicode.IsSpace(r) || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || strings.ContainsRune("<>\"`", r) || r == utf8.RuneError {
				break
			}
			end += size
		}
		if n := trimURLEnd(s[start:end]); validLink(s[start : start+n]) {
			return start, start + n
		}
		// Not a link: nothing up to end starts one either (each run of URL
		// characters is looked at once, keeping this linear).
		from = max(end, start+1)
	}
	return -1, -1
}

// indexScheme finds "http://" or "https://", ignoring case.
func indexScheme(s string) int {
	for i := 0; i+7 <= len(s); i++ {
		if c := s[i]; c != 'h' && c != 'H' {
			continue
		}
		rest := s[i:]
		if len(rest) >= 7 && strings.EqualFold(rest[:7], "http://") || len(rest) >= 8 && strings.EqualFold(rest[:8], "https://") {
			return i
		}
	}
	return -1
}

// trimURLEnd returns the length of u without trailing punctuation and
// unbalanced closing brackets.
func trimURLEnd(u string) int {
	open := strings.Count(u, "(") - strings.Count(u, ")")
	square := strings.Count(u, "[") - strings.Count(u, "]")
	n := len(u)
	for n > 0 {
		switch c := u[n-1]; {
		case strings.IndexByte(".,;:!?'*", c) >= 0:
		case c == ')' && open < 0:
			open++
		case c == ']' && square < 0:
			square++
		default:
			return n
		}
		n--
	}
	return 0
}

// validLink reports whether u is an absolute http(s) URL with a host.
func validLink(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Hostname() == "" || p.User != nil {
		return false
	}
	s := strings.ToLower(p.Scheme)
	return s == "http" || s == "https"
}

// AuthorLink is a commenter's name, escaped, linked to their website with
// rel="nofollow ugc noopener" when the website is an http(s) URL; otherwise
// the name alone.
func AuthorLink(name, website string) template.HTML {
	name = strings.ToValidUTF8(name, "\uFFFD")
	website = strings.TrimSpace(website)
	if website == "" || !validLink(website) || strings.ContainsAny(website, " \t\r\n<>\"`") {
		return template.HTML(html.EscapeString(name)) // #nosec: escaped
	}
	var b strings.Builder
	writeLink(&b, lowerScheme(website), name)
	return template.HTML(b.String()) // #nosec: escaped
}
