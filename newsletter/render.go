package newsletter

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tidings/tidings/feeds"
)

//go:embed templates
var templateFS embed.FS

// The templates are embedded and parsed when the package loads, so a broken
// one fails every test and every start, never a send.
var (
	htmlTemplates = htmltemplate.Must(htmltemplate.New("").ParseFS(templateFS, "templates/*.html"))
	textTemplate  = texttemplate.Must(texttemplate.New("").Funcs(texttemplate.FuncMap{
		"wrap": func(s string) string { return wrap(s, textWidth) },
		"rule": func() string { return strings.Repeat("-", textWidth) },
		"inc":  func(i int) int { return i + 1 },
		"tagNames": func(tags []tagView) string {
			names := make([]string, len(tags))
			for i, t := range tags {
				names[i] = t.Name
			}
			return strings.Join(names, ", ")
		},
	}).ParseFS(templateFS, "templates/issue.txt"))
)

// textWidth is where the text body wraps; a URL longer than that keeps a line
// of its own.
const textWidth = 72

// maxSubject bounds the subject, in characters.
const maxSubject = 150

// Markers around the mail-only footer (why the reader gets the mail, the
// browser and unsubscribe links), so WebHTML can swap it for a subscribe
// footer. They are HTML comments: html/template would drop them from the
// template text, so they are passed in as trusted values.
const (
	footerStart = "<!--tidings:mail-footer-->"
	footerEnd   = "<!--/tidings:mail-footer-->"
)

// issueView is what the templates show.
type issueView struct {
	SiteName, BaseURL, Week string
	WeekLabel               string // "Week 48, 2026"
	Date                    string // the day it was composed, "25 Nov 2026"
	Range                   string // "18 Nov – 25 Nov 2026"
	Headline                string // the first story's title, or ""
	Stories                 []storyView
}

// storyView is one story as the issue shows it; every field is plain text
// (the HTML template escapes it) or a checked URL.
type storyView struct {
	Title    string
	URL      string // its page on the site
	Original string // the original article, or "" when its URL is unusable
	Meta     string // "Source · 24 Nov 2026 · also covered by 2 other outlets"
	Summary  string
	Tags     []tagView
}

type tagView struct{ Name, URL string }

// page is the data of the mail templates.
type page struct {
	issueView
	Subject, Quiet, Why, ArchiveURL, Unsubscribe string
	FooterStart, FooterEnd                       htmltemplate.HTML
}

func newStoryView(c candidate, sourceNames map[int64]string, baseURL string) storyView {
	st := c.story
	v := storyView{Title: cleanText(st.Title), Summary: cleanText(st.Summary)}
	if v.Title == "" {
		v.Title = "Untitled story"
	}
	v.URL = baseURL + storyPath(st.ID, v.Title)
	if u, err := feeds.CanonicalURL(st.URL, nil); err == nil && !hasPlaceholder(u) {
		v.Original = u
	}
	var meta []string
	if name := sourceNames[st.SourceID]; name != "" {
		meta = append(meta, name)
	}
	meta = append(meta, dateLabel(st.PublishedAt))
	if n := c.outlets - 1; n > 0 {
		meta = append(meta, "also covered by "+plural(n, "other outlet", "other outlets"))
	}
	if c.comments > 0 {
		meta = append(meta, plural(c.comments, "comment", "comments"))
	}
	v.Meta = strings.Join(meta, " · ")
	for _, tag := range feeds.NormaliseTags(st.Tags) {
		name := cleanText(tag)
		if name == "" || hasPlaceholder(tag) {
			continue
		}
		v.Tags = append(v.Tags, tagView{Name: name, URL: baseURL + "/topics/" + url.PathEscape(tag)})
	}
	return v
}

// render fills both templates for v.
func render(v issueView) (htmlBody, textBody string, err error) {
	p := page{
		issueView:   v,
		Subject:     subject(v.SiteName, v.Date, v.Headline),
		Quiet:       "A quiet week: no new privacy stories were published from " + v.Range + ". See you next week.",
		Why:         "You get this email because you subscribed to the weekly digest of " + v.SiteName + ". It tracks nothing: no images, no pixels, and every link goes straight to its page.",
		ArchiveURL:  v.BaseURL + "/newsletter/" + v.Week,
		Unsubscribe: UnsubscribePlaceholder,
		FooterStart: footerStart,
		FooterEnd:   footerEnd,
	}
	var hb, tb bytes.Buffer
	if err := htmlTemplates.ExecuteTemplate(&hb, "issue.html", p); err != nil {
		return "", "", fmt.Errorf("newsletter: render HTML: %w", err)
	}
	if err := textTemplate.ExecuteTemplate(&tb, "issue.txt", p); err != nil {
		return "", "", fmt.Errorf("newsletter: render text: %w", err)
	}
	return hb.String(), tb.String(), nil
}

// WebHTML returns the issue's HTML for the web archive: the mail-only footer
// (why the reader gets it, the unsubscribe link) becomes an invitation to
// subscribe at subscribeURL, and no unsubscribe placeholder is left.
func WebHTML(is Issue, subscribeURL string) string {
	var footer bytes.Buffer
	if err := htmlTemplates.ExecuteTemplate(&footer, "webfooter.html", subscribeURL); err != nil {
		// The fragment has a single URL in an href; html/template cannot
		// fail on a string there, but an issue must render anyway.
		footer.Reset()
	}
	h := is.HTML
	if i := strings.Index(h, footerStart); i >= 0 {
		if j := strings.Index(h[i:], footerEnd); j >= 0 {
			h = h[:i] + footer.String() + h[i+j+len(footerEnd):]
		}
	}
	// An issue stored before these markers existed still gets no dead link.
	safe := htmltemplate.HTMLEscapeString(subscribeURL)
	if u, err := url.Parse(subscribeURL); err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https") {
		safe = "#"
	}
	return strings.ReplaceAll(h, UnsubscribePlaceholder, safe)
}

// subject is "<site> — <date>: <headline>", cut at a word to maxSubject
// characters; without a headline it is "<site> — <date>".
func subject(site, date, headline string) string {
	s := site + " — " + date
	if headline != "" {
		s += ": " + headline
	}
	return cutWords(s, maxSubject)
}

// cutWords shortens s to at most n characters, at a space when one is in the
// second half, ending in "…" when cut.
func cutWords(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)[:n-1]
	cut := string(runes)
	if i := strings.LastIndexByte(cut, ' '); i > len(cut)/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,;:.-–—") + "…"
}

// cleanText makes feed text safe to print in a mail: valid UTF-8, no control
// or bidirectional-override characters, whitespace collapsed, and no copy of
// the unsubscribe placeholder (which would otherwise be replaced by each
// reader's own unsubscribe link).
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case unicode.Is(unicode.Bidi_Control, r), r == '\u200b', r == '\ufeff':
			return -1
		case unicode.IsControl(r), unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r):
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	for {
		i := indexPlaceholder(s)
		if i < 0 {
			return s
		}
		s = s[:i] + strings.ReplaceAll(s[i:i+len(UnsubscribePlaceholder)], "-", " ") + s[i+len(UnsubscribePlaceholder):]
	}
}

// hasPlaceholder reports whether s holds the unsubscribe placeholder in any
// case.
func hasPlaceholder(s string) bool { return indexPlaceholder(s) >= 0 }

func indexPlaceholder(s string) int {
	n := len(UnsubscribePlaceholder)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], UnsubscribePlaceholder) {
			return i
		}
	}
	return -1
}

// wrap breaks s into lines of at most width characters at spaces. A word
// longer than a line stays whole when it is a URL (so it can be clicked) and
// is otherwise split. Runs of whitespace, line breaks included, become one
// space.
func wrap(s string, width int) string {
	var b strings.Builder
	line := 0 // characters on the current line
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		if line > 0 && line+1+n <= width {
			b.WriteByte(' ')
			b.WriteString(word)
			line += 1 + n
			continue
		}
		if line > 0 {
			b.WriteByte('\n')
			line = 0
		}
		for n > width && !strings.Contains(word, "://") {
			head, rest := splitRunes(word, width)
			b.WriteString(head)
			b.WriteByte('\n')
			word, n = rest, n-width
		}
		b.WriteString(word)
		line = n
	}
	return b.String()
}

// splitRunes splits s after its first n characters (an invalid byte counts as
// one character).
func splitRunes(s string, n int) (string, string) {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], s[i:]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// dateLabel writes a day the way the issue shows it: "25 Nov 2026".
func dateLabel(t time.Time) string { return t.UTC().Format("2 Jan 2006") }

// rangeLabel writes the days an issue covers: "18 Nov – 25 Nov 2026".
func rangeLabel(since, until time.Time) string {
	since, until = since.UTC(), until.UTC()
	if since.Year() == until.Year() {
		return since.Format("2 Jan") + " – " + dateLabel(until)
	}
	return dateLabel(since) + " – " + dateLabel(until)
}

// weekLabel names t's ISO week for readers: "Week 48, 2026".
func weekLabel(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("Week %d, %d", w, y)
}

// storyPath is the canonical path of a story page on the site, so a link in
// a mail needs no redirect; a title that would smuggle the unsubscribe
// placeholder into the path gets the bare "/stories/ID".
func storyPath(id int64, title string) string {
	if p := feeds.StoryPath(id, title); !hasPlaceholder(p) {
		return p
	}
	return feeds.StoryPath(id, "")
}
