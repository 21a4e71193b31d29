package feeds

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/mmcdole/gofeed"
)

// One source's poll: fetch, parse, store the new stories, relate them, and
// record the outcome on the source.

// outcome is what polling one source came to.
type outcome struct {
	notModified bool
	items       int
	created     int
	reason      string // non-empty: the poll failed
	cancelled   bool   // the round was cancelled: nothing recorded
}

// pollSource fetches, parses and ingests one source and records the result
// on it.
func (p *Poller) pollSource(ctx context.Context, src Source) outcome {
	start := time.Now()
	res, err := p.fetcher.Fetch(ctx, src)
	var feed *gofeed.Feed
	if err == nil && res.Status == FetchOK {
		base, _ := url.Parse(res.URL)
		feed, err = ParseFeed(res.Body, res.ContentType, base)
		res.Body = nil // let the bytes go while the items are stored
	}
	took := time.Since(start)
	if ctx.Err() != nil {
		return outcome{cancelled: true}
	}
	if err != nil {
		p.opts.Metrics.fetched(resultError, took)
		return p.fail(ctx, src, err)
	}

	var out outcome
	if res.Status == FetchNotModified {
		p.opts.Metrics.fetched(resultNotModified, took)
		out.notModified = true
	} else {
		p.opts.Metrics.fetched(resultOK, took)
		out.items = len(feed.Items)
		out.created, err = p.ingest(ctx, src, feed)
		p.opts.Metrics.ingested(out.created)
		if ctx.Err() != nil {
			out.cancelled = true
			return out
		}
		if err != nil {
			failed := p.fail(ctx, src, err)
			failed.items, failed.created = out.items, out.created
			return failed
		}
	}
	if err := p.recordSuccess(ctx, src, res, feed); err != nil {
		if ctx.Err() != nil {
			out.cancelled = true
			return out
		}
		p.log.Error("feeds: saving poll state", "source", src.ID, "err", err)
		out.reason = "could not save the poll result: " + oneLine(err.Error())
		return out
	}
	p.log.Debug("feeds: polled source", "source", src.ID, "url", src.URL,
		"not_modified", out.notModified, "items", out.items, "new_stories", out.created)
	return out
}

// ingest turns feed's items into stories, oldest first, and stores the new ones.
func (p *Poller) ingest(ctx context.Context, src Source, feed *gofeed.Feed) (created int, err error) {
	now := p.now()
	stories := make([]Story, 0, len(feed.Items))
	for _, item := range feed.Items {
		if item == nil {
			continue
		}
		if st, ok := StoryFromItem(src, feed, item, now); ok {
			stories = append(stories, st)
		}
	}
	// Oldest first, so that the earliest report of an event leads its cluster.
	slices.SortStableFunc(stories, func(a, b Story) int { return a.PublishedAt.Compare(b.PublishedAt) })

	matches := make([]Match, len(stories))
	for i := range stories {
		st := &stories[i]
		st.Relevance, st.Tags = p.classifier.Classify(st.Title, st.Summary)
		st.Visible = st.Relevance >= p.classifier.Threshold || src.OnTopic
		// Only visible stories are related: a hidden story must neither lead
		// a cluster nor appear among Similar Posts. Stories of one feed never
		// cluster with each other, so the batch can be clustered before
		// storing; the same look-up finds the candidates for Similar Posts.
		if st.Visible {
			matches[i] = p.relater.Match(*st, similarCount)
			st.ClusterID = matches[i].Cluster
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	added, err := p.store.AddStories(ctx, stories)
	if err != nil {
		return 0, fmt.Errorf("storing stories: %w", err)
	}
	var fresh []Story
	var freshMatches []Match
	for i, a := range added {
		if !a.Created {
			continue
		}
		created++
		if a.Story.Visible {
			fresh = append(fresh, a.Story)
			freshMatches = append(freshMatches, matches[i])
		}
	}
	p.relater.AddAll(fresh)
	if err := p.relate(ctx, fresh, freshMatches); err != nil {
		return created, fmt.Errorf("relating stories: %w", err)
	}
	return created, nil
}

// relate stores the Similar Posts of newly stored stories and the lists of
// the older stories they were offered to (see Relater.Relate), in one call.
func (p *Poller) relate(ctx context.Context, fresh []Story, matches []Match) error {
	if len(fresh) == 0 {
		return nil
	}
	// Lists are worked out and written in the same order by every worker,
	// so the store never ends with an older version of a list.
	p.similarMu.Lock()
	defer p.similarMu.Unlock()
	lists := p.relater.Relate(fresh, matches, similarCount)
	if len(lists) == 0 {
		return nil
	}
	return p.store.SetSimilarMany(ctx, lists)
}

// recordSuccess saves a successful poll on the source: errors cleared,
// validators kept, and the next poll no sooner than the feed asked for.
func (p *Poller) recordSuccess(ctx context.Context, src Source, res *FetchResult, feed *gofeed.Feed) error {
	// Re-read: the source may have been paused, edited or removed meanwhile.
	cur, err := p.store.Source(ctx, src.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := p.now()
	// A feed may ask to be polled less often (max-age, <ttl>), up to a limit,
	// never more often than the interval.
	limit := max(p.opts.MaxBackoff, p.opts.Interval)
	wait := max(p.opts.Interval, min(res.MaxAge, limit), min(FeedTTL(feed), limit))
	if res.Status == FetchNotModified && src.ErrorCount == 0 && !src.LastPolledAt.IsZero() {
		// A 304 has no <ttl> to read; the feed is unchanged, so is its ttl:
		// keep the wait chosen at the last successful poll. src is the
		// source as it was before this poll's claim moved NextPollAt.
		wait = max(wait, min(src.NextPollAt.Sub(src.LastPolledAt), limit))
	}
	cur.LastPolledAt = now
	cur.LastError = ""
	cur.ErrorCount = 0
	if res.Status == FetchOK || res.ETag != "" {
		cur.ETag = res.ETag
	}
	if res.Status == FetchOK || res.LastModified != "" {
		cur.LastModified = res.LastModified
	}
	cur.NextPollAt = now.Add(wait)
	if feed != nil {
		if cur.Title == "" {
			cur.Title = oneLine(feed.Title)
		}
		if cur.SiteURL == "" && feed.Link != "" {
			if site, err := CanonicalURL(feed.Link, baseURL(res.URL, src.URL)); err == nil {
				cur.SiteURL = site
			}
		}
	}
	return p.store.UpdateSource(ctx, cur)
}

// fail records a failed poll on the source and backs off its next poll.
func (p *Poller) fail(ctx context.Context, src Source, err error) outcome {
	reason := oneLine(err.Error())
	var retry time.Duration
	var fe *FeedError
	if errors.As(err, &fe) {
		reason, retry = fe.Reason, fe.RetryAfter
	}
	p.log.Warn("feeds: poll failed", "source", src.ID, "url", src.URL, "reason", reason)
	out := outcome{reason: reason}

	cur, gerr := p.store.Source(ctx, src.ID)
	if errors.Is(gerr, ErrNotFound) {
		return out
	}
	if gerr == nil {
		now := p.now()
		cur.LastPolledAt = now
		cur.LastError = reason
		cur.ErrorCount++
		cur.NextPollAt = now.Add(max(p.backoff(cur.ErrorCount), retry))
		gerr = p.store.UpdateSource(ctx, cur)
	}
	if gerr != nil && ctx.Err() == nil {
		p.log.Error("feeds: saving poll failure", "source", src.ID, "err", gerr)
	}
	return out
}

// backoff is the wait after the n-th failure in a row: Interval doubled for
// each failure after the first, up to MaxBackoff.
func (p *Poller) backoff(n int) time.Duration {
	wait := p.opts.Interval
	for i := 1; i < n && wait < p.opts.MaxBackoff; i++ {
		wait *= 2
	}
	return min(wait, p.opts.MaxBackoff)
}

// baseURL returns the first candidate that is an absolute URL, or nil.
func baseURL(candidates ...string) *url.URL {
	for _, c := range candidates {
		if u, err := url.Parse(c); err == nil && u.Host != "" {
			return u
		}
	}
	return nil
}
