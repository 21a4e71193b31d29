package feeds

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// Limits on a source list read by ParseSourceList.
const (
	maxSourceListBytes = 5 << 20
	maxSourceListURLs  = 10000
	// maxListProblems bounds the problems kept for one list; the rest are
	// counted in a last problem.
	maxListProblems = 1000
	// maxListErrorShown is how many problems ListError.Error spells out.
	maxListErrorShown = 10
)

// ListProblem is one entry of a source list that could not be used.
type ListProblem struct {
	Line   int    // 1-based line of the entry; 0 for the list as a whole
	Entry  string // the entry as written, shortened
	Reason string
}

// ListError reports the unusable entries of a source list. ParseSourceList
// returns it together with the usable URLs, so a caller can import those and
// show these.
type ListError struct {
	Problems []ListProblem
}

// Error lists the first problems, one after another.
func (e *ListError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "feeds: %d bad entries in source list", len(e.Problems))
	for i, p := range e.Problems {
		if i == maxListErrorShown {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-i)
			break
		}
		if p.Line > 0 {
			fmt.Fprintf(&b, "; line %d", p.Line)
		} else {
			b.WriteString("; list")
		}
		if p.Entry != "" {
			fmt.Fprintf(&b, " %q", p.Entry)
		}
		b.WriteString(": " + p.Reason)
	}
	return b.String()
}

// ParseSourceList reads feed URLs from an OPML document (every outline, at any
// depth, with an xmlUrl and a type of rss, atom or none) or from plain text
// with one URL per line (blank lines and lines starting with # are skipped).
// Every URL is canonicalised and duplicates are dropped. Entries that are not
// usable http(s) URLs are returned in a *ListError beside the good URLs.
// Input over 5 MiB is refused; URLs past the 10,000th are reported, not kept.
func ParseSourceList(r io.Reader) ([]string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSourceListBytes+1))
	if err != nil {
		return nil, fmt.Errorf("feeds: reading source list: %w", err)
	}
	if len(data) > maxSourceListBytes {
		return nil, fmt.Errorf("feeds: source list larger than %d bytes", maxSourceListBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var l sourceList
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && trimmed[0] == '<' {
		if err := l.readOPML(data); err != nil {
			return nil, err
		}
	} else {
		l.readLines(data)
	}
	if l.omitted > 0 {
		l.problems = append(l.problems, ListProblem{Reason: fmt.Sprintf("%d more bad entries not listed", l.omitted)})
	}
	if len(l.problems) > 0 {
		return l.urls, &ListError{Problems: l.problems}
	}
	return l.urls, nil
}

// sourceList collects the URLs and problems of a list being read.
type sourceList struct {
	urls     []string
	seen     map[string]bool
	problems []ListProblem
	omitted  int // problems past maxListProblems
	full     bool
}

// problem records an unusable entry.
func (l *sourceList) problem(line int, entry, reason string) {
	if len(l.problems) == maxListProblems {
		l.omitted++
		return
	}
	l.problems = append(l.problems, ListProblem{Line: line, Entry: entry, Reason: reason})
}

// add canonicalises one entry found on line and keeps or reports it.
func (l *sourceList) add(line int, entry string) {
	shown := shortURL(strings.ToValidUTF8(entry, "\uFFFD"))
	if l.full {
		return
	}
	u, err := CanonicalURL(entry, nil)
	if err != nil {
		l.problem(line, shown, listReason(err))
		return
	}
	if l.seen[u] {
		return
	}
	if len(l.urls) == maxSourceListURLs {
		l.full = true
		l.problem(line, shown, fmt.Sprintf("more than %d URLs; this one and the rest were skipped", maxSourceListURLs))
		return
	}
	if l.seen == nil {
		l.seen = make(map[string]bool)
	}
	l.seen[u] = true
	l.urls = append(l.urls, u)
}

// listReason turns a CanonicalURL error into a short reason.
func listReason(err error) string {
	if errors.Is(err, errNotHTTP) {
		return "not an http or https URL"
	}
	return strings.TrimPrefix(err.Error(), "feeds: ")
}

// readLines reads a plain list, one URL per line.
func (l *sourceList) readLines(data []byte) {
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.ContainsFunc(line, isSpaceRune) {
			l.problem(i+1, shortURL(strings.ToValidUTF8(line, "\uFFFD")), "more than one word on the line")
			continue
		}
		l.add(i+1, line)
	}
}

func isSpaceRune(r rune) bool { return r == ' ' || r == '\t' || r == '\v' || r == '\f' || r == '\r' }

// readOPML reads the outlines of an OPML document. A document that is not
// OPML is an error; a syntax error part-way is a problem after the URLs
// found before it.
func (l *sourceList) readOPML(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	d.CharsetReader = charset.NewReaderLabel
	root := true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if root {
				return errors.New("feeds: source list is neither OPML nor a list of URLs")
			}
			return nil
		}
		if err != nil {
			line, _ := d.InputPos()
			l.problem(line, "", "bad XML: "+xmlErrorText(err))
			return nil
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root {
			if !strings.EqualFold(start.Name.Local, "opml") {
				return fmt.Errorf("feeds: source list is XML but not OPML (root element <%s>)", shortURL(start.Name.Local))
			}
			root = false
			continue
		}
		if !strings.EqualFold(start.Name.Local, "outline") {
			continue
		}
		var feedURL, kind string
		hasURL := false
		for _, a := range start.Attr {
			switch strings.ToLower(a.Name.Local) {
			case "xmlurl":
				feedURL, hasURL = a.Value, true
			case "type":
				kind = strings.ToLower(strings.TrimSpace(a.Value))
			}
		}
		if !hasURL || (kind != "" && kind != "rss" && kind != "atom") {
			continue
		}
		line, _ := d.InputPos()
		if strings.TrimSpace(feedURL) == "" {
			l.problem(line, "", "outline with an empty xmlUrl")
			continue
		}
		l.add(line, feedURL)
	}
}

// xmlErrorText is the message of an XML error without its own line prefix.
func xmlErrorText(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return se.Msg
	}
	return err.Error()
}

// opmlDocument is the OPML 2.0 document written by WriteOPML.
type opmlDocument struct {
	XMLName  xml.Name      `xml:"opml"`
	Version  string        `xml:"version,attr"`
	Title    string        `xml:"head>title"`
	Outlines []opmlOutline `xml:"body>outline"`
}

type opmlOutline struct {
	Type    string `xml:"type,attr"`
	Text    string `xml:"text,attr"`
	Title   string `xml:"title,attr,omitempty"`
	XMLURL  string `xml:"xmlUrl,attr"`
	HTMLURL string `xml:"htmlUrl,attr,omitempty"`
}

// WriteOPML writes sources as an OPML 2.0 document titled title, one outline
// of type rss per source with its title, xmlUrl and htmlUrl.
func WriteOPML(w io.Writer, title string, sources []Source) error {
	doc := opmlDocument{Version: "2.0", Title: title, Outlines: make([]opmlOutline, 0, len(sources))}
	for _, s := range sources {
		text := s.Title
		if text == "" {
			text = s.URL
		}
		doc.Outlines = append(doc.Outlines, opmlOutline{
			Type: "rss", Text: text, Title: s.Title, XMLURL: s.URL, HTMLURL: s.SiteURL,
		})
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("feeds: writing OPML: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("feeds: writing OPML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("feeds: writing OPML: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("feeds: writing OPML: %w", err)
	}
	return nil
}
