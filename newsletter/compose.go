package newsletter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tidings/tidings/feeds"
)

// CommentCounter tells how many approved comments stories have. Stories
// without comments may be left out of the map.
type CommentCounter interface {
	CommentCounts(ctx context.Context, storyIDs []int64) (map[int64]int, error)
}

// ComposeOptions shapes an issue.
type ComposeOptions struct {
	SiteName  string // shown in the subject and header; "Tidings" when empty
	BaseURL   string // the site's absolute http(s) URL, e.g. "https://news.example.org"
	Count     int    // stories in an issue; 0 means 10
	PerSource int    // at most this many stories from one source; 0 means 2
	// Comments, when set, lets approved comments count in the ranking.
	Comments CommentCounter
}

// Defaults and bounds of composition.
const (
	defaultSiteName  = "Tidings"
	defaultCount     = 10
	defaultPerSource = 2
	maxCount         = 100
	// IssueSpan is how far back an issue looks from the moment it is composed.
	IssueSpan = 7 * 24 * time.Hour
	// maxCandidates bounds the stories read for one issue. The store returns
	// the newest first, so on a week with more leaders than this the oldest
	// are dropped: they carry the smallest recency bonus anyway.
	maxCandidates = 2000
	// maxFollowers bounds the cluster members read to measure breadth.
	maxFollowers = 10 * maxCandidates
)

// Weights of the ranking (see score). Relevance dominates: an issue is about
// privacy first. Breadth and comments grow with the logarithm of their count,
// so one huge cluster or thread cannot drown everything else.
const (
	weightRelevance = 1.0  // × relevance, 0..1
	weightBreadth   = 0.15 // × log2(outlets): 2 outlets +0.15, 4 outlets +0.30
	maxOutlets      = 16   // breadth counts at most this many outlets (+0.60)
	weightComments  = 0.05 // × log2(1+comments): 1 → +0.05, 7 → +0.15
	maxComments     = 31   // comments count up to this many (+0.25)
	weightRecency   = 0.2  // × the share of the week still ahead: fresh +0.2, 7 days old 0
)

// candidate is a story considered for an issue, with what ranks it.
type candidate struct {
	story    feeds.Story
	outlets  int // distinct sources that covered the event, this one included
	comments int
	score    float64
}

// score ranks a story for the issue composed at until; higher is better.
//
//	score = 1.0  × relevance
//	      + 0.15 × log2(outlets)        (outlets capped at 16)
//	      + 0.05 × log2(1 + comments)   (comments capped at 31)
//	      + 0.2  × (1 − age / 7 days)   (age clamped to 0..7 days)
func score(relevance float64, outlets, comments int, age time.Duration) float64 {
	relevance = min(max(relevance, 0), 1)
	outlets = min(max(outlets, 1), maxOutlets)
	comments = min(max(comments, 0), maxComments)
	age = min(max(age, 0), IssueSpan)
	return weightRelevance*relevance +
		weightBreadth*math.Log2(float64(outlets)) +
		weightComments*math.Log2(float64(1+comments)) +
		weightRecency*(1-float64(age)/float64(IssueSpan))
}

// Compose builds (but does not store) the issue for the moment now: it is
// named WeekOf(now) and covers the visible cluster-leading stories published
// in [now−7 days, now), best first by score, at most o.PerSource from one
// source and o.Count in all. A week without stories gives an issue that says
// so, not an error. It reads the store three times: the candidates, the
// members of their clusters, and the sources.
func Compose(ctx context.Context, stories feeds.Store, now time.Time, o ComposeOptions) (Issue, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Issue{}, err
	}
	if stories == nil {
		return Issue{}, errors.New("newsletter: compose: no story store")
	}
	if now.IsZero() {
		return Issue{}, errors.New("newsletter: compose: no time given")
	}
	until := now.UTC()
	since := until.Add(-IssueSpan)

	picked, err := pick(ctx, stories, since, until, o)
	if err != nil {
		return Issue{}, err
	}
	sources, err := stories.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return Issue{}, fmt.Errorf("newsletter: compose: read sources: %w", err)
	}
	names := make(map[int64]string, len(sources))
	for _, src := range sources {
		names[src.ID] = sourceName(src)
	}

	is := Issue{Week: WeekOf(until), ComposedAt: until, Since: since, Until: until}
	v := issueView{
		SiteName: o.SiteName, BaseURL: o.BaseURL, Week: is.Week,
		WeekLabel: weekLabel(until), Date: dateLabel(until), Range: rangeLabel(since, until),
	}
	for _, c := range picked {
		is.StoryIDs = append(is.StoryIDs, c.story.ID)
		v.Stories = append(v.Stories, newStoryView(c, names, o.BaseURL))
	}
	if len(v.Stories) > 0 {
		v.Headline = v.Stories[0].Title
	}
	is.Subject = subject(v.SiteName, v.Date, v.Headline)
	if is.HTML, is.Text, err = render(v); err != nil {
		return Issue{}, err
	}
	return is, nil
}

// pick reads the window's candidates and returns the ones the issue shows,
// in order.
func pick(ctx context.Context, stories feeds.Store, since, until time.Time, o ComposeOptions) ([]candidate, error) {
	leaders, err := stories.Stories(ctx, feeds.StoryFilter{
		VisibleOnly: true, LeadersOnly: true, Since: since, Limit: maxCandidates,
	})
	if err != nil {
		return nil, fmt.Errorf("newsletter: compose: read stories: %w", err)
	}
	var cands []candidate
	for _, st := range leaders {
		// The store filters already; checking again keeps a lax store from
		// putting a hidden or off-window story in a mail.
		if st.Visible && st.ClusterID == 0 && !st.PublishedAt.Before(since) && st.PublishedAt.Before(until) {
			cands = append(cands, candidate{story: st, outlets: 1})
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(cands))
	for i, c := range cands {
		ids[i] = c.story.ID
	}

	// Breadth: the distinct sources among each leader and its followers,
	// hidden followers included (they are coverage all the same).
	followers, err := stories.Stories(ctx, feeds.StoryFilter{ClusterIDs: ids, Limit: maxFollowers})
	if err != nil {
		return nil, fmt.Errorf("newsletter: compose: read clusters: %w", err)
	}
	outlets := make(map[int64]map[int64]bool, len(cands))
	for _, c := range cands {
		outlets[c.story.ID] = map[int64]bool{c.story.SourceID: true}
	}
	for _, f := range followers {
		if set := outlets[f.ClusterID]; set != nil {
			set[f.SourceID] = true
		}
	}

	var counts map[int64]int
	if o.Comments != nil {
		if counts, err = o.Comments.CommentCounts(ctx, ids); err != nil {
			return nil, fmt.Errorf("newsletter: compose: count comments: %w", err)
		}
	}
	for i := range cands {
		c := &cands[i]
		c.outlets = len(outlets[c.story.ID])
		c.comments = counts[c.story.ID]
		c.score = score(c.story.Relevance, c.outlets, c.comments, until.Sub(c.story.PublishedAt))
	}
	slices.SortStableFunc(cands, func(a, b candidate) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := b.story.PublishedAt.Compare(a.story.PublishedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.story.ID, a.story.ID)
	})

	perSource := map[int64]int{}
	var out []candidate
	for _, c := range cands {
		if perSource[c.story.SourceID] >= o.PerSource {
			continue
		}
		perSource[c.story.SourceID]++
		out = append(out, c)
		if len(out) == o.Count {
			break
		}
	}
	return out, nil
}

// withDefaults fills in the defaults and checks the options.
func (o ComposeOptions) withDefaults() (ComposeOptions, error) {
	o.SiteName = cleanText(o.SiteName)
	if o.SiteName == "" {
		o.SiteName = defaultSiteName
	}
	base, err := checkBaseURL(o.BaseURL)
	if err != nil {
		return o, err
	}
	o.BaseURL = base
	switch {
	case o.Count < 0 || o.Count > maxCount:
		return o, fmt.Errorf("newsletter: compose: %d stories per issue: want 1 to %d", o.Count, maxCount)
	case o.Count == 0:
		o.Count = defaultCount
	}
	switch {
	case o.PerSource < 0:
		return o, fmt.Errorf("newsletter: compose: %d stories per source: want 1 or more", o.PerSource)
	case o.PerSource == 0:
		o.PerSource = defaultPerSource
	}
	return o, nil
}

// checkBaseURL returns the site's base URL without a trailing slash, or an
// error unless it is an absolute http(s) URL without query or fragment.
func checkBaseURL(raw string) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, " \"'<>\\") {
		return "", fmt.Errorf("newsletter: compose: base URL %q: want an absolute http(s) URL such as https://news.example.org", shortText(raw))
	}
	if strings.Contains(raw, UnsubscribePlaceholder) {
		return "", fmt.Errorf("newsletter: compose: base URL %q holds the unsubscribe placeholder", shortText(raw))
	}
	return raw, nil
}

// sourceName is what a reader calls a source: its title, else its site's host.
func sourceName(src feeds.Source) string {
	if t := cleanText(src.Title); t != "" {
		return t
	}
	for _, raw := range []string{src.SiteURL, src.URL} {
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			return cleanText(strings.TrimPrefix(u.Hostname(), "www."))
		}
	}
	return ""
}
