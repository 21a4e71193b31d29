package views

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/feeds"
)

// Discoverer finds the feeds behind an address a person typed: the
// address itself when it serves a feed, else the feeds its page announces
// (feeds.Fetcher.Discover or feeds.Poller.Discover, which fetch through the
// poller's guarded client). Errors are *feeds.FeedError, matching
// feeds.ErrNoFeed when the page offers none.
type Discoverer func(ctx context.Context, rawURL string) ([]feeds.FoundFeed, error)

// feedsPage is /admin/feeds: every source, and the forms that add, change
// and import them.
type feedsPage struct {
	Meta  meta
	Nav   adminNav
	Flash string
	// Error is why the last request was refused; ErrorFor names the form it
	// is about: "add", "import" or "sources".
	Error    string
	ErrorFor string
	// URL and OnTopic are what was typed in the add form.
	URL     string
	OnTopic bool
	// Choices are the feeds a site offers when it offers several.
	Choices []feeds.FoundFeed
	// Problems are the entries of an imported list that were skipped.
	Problems []feeds.ListProblem
	Sources  []sourceRow
	// Discovers is false when the site has no Discoverer: an address is
	// then added as typed.
	Discovers bool
	Now       time.Time
}

// sourceRow is one source as the feeds page shows it.
type sourceRow struct {
	feeds.Source
	Status  string // "ok", "failing", "paused" or "new" (never polled)
	Stories int    // stories stored from it
	Due     bool   // its next poll is now: the poller's next round takes it
}

// feedActions are the values of a source's buttons (field one,
// "ACTION:ID"), with the done= value the redirect carries.
var feedActions = map[string]string{
	"ontopic":  "ontopic",
	"offtopic": "offtopic",
	"pause":    "paused",
	"resume":   "resumed",
	"poll":     "poll",
	"remove":   "removed",
}

// feedsAdmin serves GET /admin/feeds.
func (s *Server) feedsAdmin(c echo.Context) error {
	return s.renderFeeds(c, http.StatusOK, feedsPage{})
}

// renderFeeds shows the feeds page with p's message and form values; on a
// GET, the message of the action just done (from the query) as well.
func (s *Server) renderFeeds(c echo.Context, code int, p feedsPage) error {
	ctx := c.Request().Context()
	nav, err := s.adminNav(ctx, "feeds")
	if err != nil {
		return err
	}
	srcs, err := s.opts.Stories.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return err
	}
	p.Meta = meta{Title: "Feeds — " + siteName + " admin", NoIndex: true}
	p.Nav, p.Discovers, p.Now = nav, s.opts.Discover != nil, time.Now().UTC()
	byID := make(map[int64]feeds.Source, len(srcs))
	for _, src := range srcs {
		n, err := s.opts.Stories.CountStories(ctx, feeds.StoryFilter{SourceID: src.ID})
		if err != nil {
			return err
		}
		p.Sources = append(p.Sources, sourceRow{Source: src, Status: sourceStatus(src), Stories: n, Due: !src.NextPollAt.After(p.Now)})
		byID[src.ID] = src
	}
	if c.Request().Method == http.MethodGet && p.Flash == "" && p.Error == "" {
		p.Flash = feedsFlash(c.QueryParams(), byID)
	}
	return s.render(c, code, "admin_feeds", p)
}

// sourceStatus is a source's state in one word.
func sourceStatus(src feeds.Source) string {
	switch {
	case src.Paused:
		return "paused"
	case src.LastError != "" || src.ErrorCount > 0:
		return "failing"
	case src.LastPolledAt.IsZero():
		return "new"
	}
	return "ok"
}

// changeFeed serves POST /admin/feeds: one source's button (field one,
// "ACTION:ID") marks it on-topic or not, pauses or resumes it, has it
// polled in the poller's next round, or removes it (its stories stay).
// Then back to the page, which says what was done.
func (s *Server) changeFeed(c echo.Context) error {
	action, raw, _ := strings.Cut(c.Request().PostForm.Get("one"), ":")
	id, err := strconv.ParseInt(raw, 10, 64)
	done, known := feedActions[action]
	if !known || err != nil || id < 1 {
		return s.renderFeeds(c, http.StatusBadRequest, feedsPage{ErrorFor: "sources",
			Error: "The feed form could not be understood: no known button was pressed for a feed. Reload this page and try again."})
	}
	ctx := c.Request().Context()
	if action == "remove" {
		err = s.opts.Stories.RemoveSource(ctx, id)
	} else {
		err = s.updateSource(ctx, action, id)
	}
	switch {
	case errors.Is(err, feeds.ErrNotFound):
		return s.renderFeeds(c, http.StatusNotFound, feedsPage{ErrorFor: "sources",
			Error: "There is no feed #" + strconv.FormatInt(id, 10) + ": it may have been removed meanwhile."})
	case errors.Is(err, errPausedPoll):
		return s.renderFeeds(c, http.StatusConflict, feedsPage{ErrorFor: "sources",
			Error: "Feed #" + strconv.FormatInt(id, 10) + " is paused, so it is not polled. Resume it first."})
	case err != nil:
		return err
	}
	switch action {
	case "remove":
		s.Invalidate() // its page and its name under its stories
	case "poll", "resume":
		s.pollSoon()
	}
	return c.Redirect(http.StatusSeeOther, "/admin/feeds?"+url.Values{"done": {done}, "id": {raw}}.Encode())
}

// errPausedPoll refuses "poll now" on a paused source.
var errPausedPoll = errors.New("views: the source is paused")

// updateSource applies a button other than remove to source id.
func (s *Server) updateSource(ctx context.Context, action string, id int64) error {
	src, err := s.opts.Stories.Source(ctx, id)
	if err != nil {
		return err
	}
	switch action {
	case "ontopic", "offtopic":
		src.OnTopic = action == "ontopic"
	case "pause", "resume":
		src.Paused = action == "pause"
	case "poll":
		if src.Paused {
			return errPausedPoll
		}
		// Due now: ClaimDue hands it to the next polling round of any
		// process sharing the store.
		src.NextPollAt = time.Now().UTC()
	}
	return s.opts.Stories.UpdateSource(ctx, src)
}

// feedsFlash is the message after an action, from the fixed words below,
// the counts in the query and the source as stored: nothing a link can
// make it say.
func feedsFlash(q url.Values, byID map[int64]feeds.Source) string {
	if q.Get("done") == "imported" {
		added, err1 := strconv.Atoi(q.Get("added"))
		existing, err2 := strconv.Atoi(q.Get("existing"))
		if err1 != nil || err2 != nil || added < 0 || existing < 0 {
			return ""
		}
		return importSummary(added, existing, 0)
	}
	id, err := strconv.ParseInt(q.Get("id"), 10, 64)
	if err != nil || id < 1 {
		return ""
	}
	name := "Feed #" + strconv.FormatInt(id, 10)
	if src, ok := byID[id]; ok {
		name += " (" + feedLabel(src) + ")"
	}
	switch q.Get("done") {
	case "added":
		return name + " added. It is polled in a moment (in the next round of a poller, within a minute at most)."
	case "ontopic":
		return name + " is marked wholly on-topic: every story polled from it from now on is shown."
	case "offtopic":
		return name + " is no longer marked on-topic: its new stories are shown when they are about privacy."
	case "paused":
		return name + " is paused: it is not polled until you resume it."
	case "resumed":
		return name + " is resumed: it is polled again when due."
	case "poll":
		return name + " is due now: it is polled in a moment (in the next round of a poller, within a minute at most)."
	case "removed":
		return name + " removed. Its stories stay on the site."
	}
	return ""
}

// feedLabel is a source's title, or its URL before its first poll.
func feedLabel(src feeds.Source) string {
	if src.Title != "" {
		return src.Title
	}
	return src.URL
}

// importSummary says what an import did.
func importSummary(added, existing, skipped int) string {
	msg := "Import done: " + countNoun(added, "feed", "feeds") + " added, " + strconv.Itoa(existing) + " already there"
	if skipped > 0 {
		msg += ", " + countNoun(skipped, "entry", "entries") + " skipped (listed below)"
	}
	return msg + "."
}
