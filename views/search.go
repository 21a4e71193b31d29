package views

import (
	"errors"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// searchPage is /search: the form, and the results when a query was given.
type searchPage struct {
	Meta    meta
	Query   string // what the reader typed, shown again in the form
	Message string // why the query could not be run
	Ran     bool   // a query was run (results or none)
	Total   int
	Hits    []searchHit
	Pager   pager
}

// searchHit is a story found, with the query's words marked.
type searchHit struct {
	storyItem
	TitleHTML, SummaryHTML template.HTML
}

// search runs full-text search over titles and summaries. Results are not
// cached: queries are as many as readers make up.
func (s *Server) search(c echo.Context) error {
	q := c.QueryParam("q")
	page, err := pageParam(c)
	if err != nil {
		return err
	}
	data := searchPage{
		Query: q,
		Meta:  meta{Title: "Search — " + siteName, Type: "website", NoIndex: true},
	}
	if strings.TrimSpace(q) == "" {
		return s.render(c, http.StatusOK, "search", data)
	}
	data.Meta.Title = "Search: " + shorten(q, 60) + " — " + siteName
	terms, err := feeds.ParseSearch(q)
	var res feeds.SearchResult
	if err == nil {
		res, err = s.opts.Stories.Search(c.Request().Context(),
			feeds.SearchQuery{Text: q, Limit: perPage, Offset: (page - 1) * perPage})
	}
	var bad *feeds.BadQueryError
	if errors.As(err, &bad) {
		data.Message = bad.Reason
		return s.render(c, http.StatusBadRequest, "search", data)
	}
	if err != nil {
		return err
	}
	if page > 1 && len(res.Stories) == 0 {
		return echo.NewHTTPError(http.StatusNotFound)
	}
	names, err := s.sourceNames(c.Request().Context())
	if err != nil {
		return err
	}
	data.Ran, data.Total = true, res.Total
	for _, st := range res.Stories {
		item := newStoryItem(st, names)
		data.Hits = append(data.Hits, searchHit{
			storyItem:   item,
			TitleHTML:   highlight(st.Title, terms),
			SummaryHTML: highlight(item.Summary, terms),
		})
	}
	base := "/search?q=" + url.QueryEscape(q)
	if (page-1)*perPage+len(res.Stories) < res.Total {
		data.Pager.Next = base + "&page=" + strconv.Itoa(page+1)
	}
	if page > 1 {
		data.Pager.Prev = base + "&page=" + strconv.Itoa(page-1)
	}
	return s.render(c, http.StatusOK, "search", data)
}

// highlight escapes text and wraps in <mark> every word that a search term
// matches as the index would: the word's indexed form equals a term, or, for
// the last term, starts with it.
func highlight(text string, terms []string) template.HTML {
	if len(terms) == 0 {
		return template.HTML(html.EscapeString(text))
	}
	last := terms[len(terms)-1]
	matches := func(word string) bool {
		for _, t := range feeds.IndexTerms(word) {
			for _, term := range terms {
				if t == term {
					return true
				}
			}
			if strings.HasPrefix(t, last) {
				return true
			}
		}
		return false
	}
	var b strings.Builder
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’' }
	for len(text) > 0 {
		i := strings.IndexFunc(text, isWord)
		if i < 0 {
			b.WriteString(html.EscapeString(text))
			break
		}
		b.WriteString(html.EscapeString(text[:i]))
		text = text[i:]
		j := strings.IndexFunc(text, func(r rune) bool { return !isWord(r) })
		if j < 0 {
			j = len(text)
		}
		word := text[:j]
		if matches(word) {
			b.WriteString("<mark>" + html.EscapeString(word) + "</mark>")
		} else {
			b.WriteString(html.EscapeString(word))
		}
		text = text[j:]
	}
	return template.HTML(b.String())
}
