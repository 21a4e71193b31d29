package feeds

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults for PollerOptions fields left zero.
const (
	DefaultPollInterval = 30 * time.Minute
	DefaultWorkers      = 8
	DefaultPerHost      = 2
	DefaultMaxBackoff   = 24 * time.Hour
	// DefaultClaimLease outlasts the polls of one claimed batch (2×Workers
	// sources) even when they queue behind one slow host.
	DefaultClaimLease = 10 * time.Minute
)

const (
	// warmStories is how many recent visible stories Warm loads into the Relater.
	warmStories = 5000
	// similarCount is the length of a story's Similar Posts list.
	similarCount = 5
	// idleRecheck bounds how long Run sleeps, so sources added by another
	// process are picked up within it.
	idleRecheck = time.Minute
)

// PollerOptions configure a Poller. Zero fields take the defaults above.
type PollerOptions struct {
	Interval  time.Duration // time between polls of a healthy feed
	Workers   int           // feeds fetched at once
	PerHost   int           // requests at once to one host name
	UserAgent string        // overrides Fetch.UserAgent when set
	// AllowPrivate lets feeds live on loopback and private addresses.
	AllowPrivate bool
	MaxBackoff   time.Duration // longest wait after repeated failures
	// ClaimLease is how long a due source claimed for polling is left alone
	// by other processes before its result is recorded: after a crash, the
	// delay before another process polls it.
	ClaimLease time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
	Metrics    *Metrics
	Fetch      FetchOptions // timeouts and size cap
	// OnNewStories, when set, is called after a source yielded new stories, so
	// the site can drop cached pages at once.
	OnNewStories func()
}

// Summary reports one polling round.
type Summary struct {
	Polled      int // sources polled successfully, not-modified ones included
	NotModified int // of those, the ones whose server answered 304
	NewStories  int // stories stored for the first time
	Items       int // items read from the feeds that changed
	Failed      []Failure
}

// Failure is a source that could not be polled, and why.
type Failure struct {
	SourceID int64
	URL      string
	Reason   string
}

// Poller fetches due sources, turns their items into stories and stores them.
type Poller struct {
	store      Store
	classifier *Classifier
	relater    *Relater
	opts       PollerOptions
	fetcher    *Fetcher
	log        *slog.Logger

	round     sync.Mutex    // one polling round at a time
	similarMu sync.Mutex    // orders the writes of Similar lists
	wake      chan struct{} // Trigger's nudge to Run
}

// NewPoller returns a Poller storing into store, classifying with c and
// relating with r (neither may be nil).
func NewPoller(store Store, c *Classifier, r *Relater, opts PollerOptions) *Poller {
	if opts.Interval <= 0 {
		opts.Interval = DefaultPollInterval
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.PerHost <= 0 {
		opts.PerHost = DefaultPerHost
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	if opts.ClaimLease <= 0 {
		opts.ClaimLease = DefaultClaimLease
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	fo := opts.Fetch
	if opts.UserAgent != "" {
		fo.UserAgent = opts.UserAgent
	}
	fo.AllowPrivate = fo.AllowPrivate || opts.AllowPrivate
	return &Poller{
		store:      store,
		classifier: c,
		relater:    r,
		opts:       opts,
		fetcher:    NewFetcher(fo),
		log:        opts.Logger,
		wake:       make(chan struct{}, 1),
	}
}

func (p *Poller) now() time.Time { return p.opts.Now().UTC() }

// Warm loads the most recent visible stories into the Relater, so that
// stories found after a restart still get their Similar Posts and clusters.
func (p *Poller) Warm(ctx context.Context) error {
	stories, err := p.store.Stories(ctx, StoryFilter{VisibleOnly: true, Limit: warmStories})
	if err != nil {
		return fmt.Errorf("feeds: warming the relater: %w", err)
	}
	for i := len(stories) - 1; i >= 0; i-- { // oldest first: the index drops the oldest
		p.relater.Add(stories[i])
	}
	return nil
}

// Trigger asks a running Run to poll now rather than at its next check, for
// instance after a source was added.
func (p *Poller) Trigger() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run polls due sources until ctx is cancelled, then returns nil once every
// request it started has ended.
func (p *Poller) Run(ctx context.Context) error {
	for {
		sum, err := p.PollOnce(ctx, false, nil)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Error("feeds: polling round failed", "err", err)
		} else if n := sum.Polled + len(sum.Failed); n > 0 {
			p.log.Info("feeds: polled", "sources", n, "failed", len(sum.Failed),
				"not_modified", sum.NotModified, "new_stories", sum.NewStories)
		}
		timer := time.NewTimer(p.untilNextDue(ctx))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-p.wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// untilNextDue is how long Run may sleep before a source falls due.
func (p *Poller) untilNextDue(ctx context.Context) time.Duration {
	sources, err := p.store.Sources(ctx, SourceFilter{})
	if err != nil {
		return idleRecheck
	}
	wait := idleRecheck
	now := p.now()
	for _, s := range sources {
		if !s.Paused {
			wait = min(wait, s.NextPollAt.Sub(now))
		}
	}
	return max(wait, time.Second)
}

// PollOnce polls the due sources (all: every unpaused source) and reports
// what it found; progress, when set, is called after each source. Due
// sources are claimed in the store a batch at a time (Store.ClaimDue), so
// that processes sharing a store poll each source once; all claims nothing
// and polls every source whatever other processes do. One source's failure
// is recorded on that source and affects no other. The error is non-nil
// only when the round could not run, when it was cancelled, or when every
// source attempted failed.
func (p *Poller) PollOnce(ctx context.Context, all bool, progress func(done, total int)) (Summary, error) {
	p.round.Lock()
	defer p.round.Unlock()
	defer p.fetcher.CloseIdleConnections()

	c := &claims{p: p, all: all, held: map[int64]claimed{}, seen: map[int64]bool{}}
	first, err := c.next(ctx)
	if err != nil {
		return Summary{}, err
	}
	expected := len(first)
	if progress != nil && !all && len(first) == c.batchSize() {
		expected += c.countDue(ctx)
	}

	var (
		sum     Summary
		mu      sync.Mutex
		done    int
		total   = len(first)
		wg      sync.WaitGroup
		hostsMu sync.Mutex
		perHost = make(map[string]chan struct{})
	)
	hostLimit := func(src Source) chan struct{} {
		hostsMu.Lock()
		defer hostsMu.Unlock()
		h := hostOf(src.URL)
		if perHost[h] == nil {
			perHost[h] = make(chan struct{}, p.opts.PerHost)
		}
		return perHost[h]
	}
	record := func(src Source, out outcome) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case out.reason != "":
			sum.Failed = append(sum.Failed, Failure{SourceID: src.ID, URL: src.URL, Reason: out.reason})
		default:
			sum.Polled++
			if out.notModified {
				sum.NotModified++
			}
		}
		sum.Items += out.items
		sum.NewStories += out.created
		done++
		if progress != nil {
			progress(done, max(total, expected))
		}
	}

	jobs := make(chan Source)
	for range min(p.opts.Workers, len(first)) {
		wg.Go(func() {
			for src := range jobs {
				sem := hostLimit(src)
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					continue
				}
				out := p.pollSource(ctx, src)
				<-sem
				if !out.cancelled {
					c.finished(src.ID)
					record(src, out)
				}
				if out.created > 0 && p.opts.OnNewStories != nil {
					p.opts.OnNewStories()
				}
			}
		})
	}
	var claimErr error
	batch := first
dispatch:
	for len(batch) > 0 {
		for _, src := range interleaveByHost(batch) {
			select {
			case jobs <- src:
			case <-ctx.Done():
				break dispatch
			}
		}
		if batch, claimErr = c.more(ctx, len(batch)); claimErr != nil {
			break
		}
		mu.Lock()
		total += len(batch)
		mu.Unlock()
	}
	close(jobs)
	wg.Wait()
	c.releaseUnpolled()

	slices.SortFunc(sum.Failed, func(a, b Failure) int { return cmp.Compare(a.SourceID, b.SourceID) })
	if ctx.Err() != nil {
		return sum, ctx.Err()
	}
	p.countFailing(ctx)
	if claimErr != nil {
		return sum, claimErr
	}
	if sum.Polled == 0 && len(sum.Failed) > 0 {
		return sum, fmt.Errorf("feeds: none of the %d sources could be polled", len(sum.Failed))
	}
	return sum, nil
}

// countFailing updates the gauge of sources whose last poll failed.
func (p *Poller) countFailing(ctx context.Context) {
	if p.opts.Metrics == nil {
		return
	}
	sources, err := p.store.Sources(ctx, SourceFilter{})
	if err != nil {
		return
	}
	n := 0
	for _, s := range sources {
		if s.LastError != "" && !s.Paused {
			n++
		}
	}
	p.opts.Metrics.setFailing(n)
}

// interleaveByHost orders sources round-robin by host, so that the workers
// are not all queued behind one host's limit.
func interleaveByHost(sources []Source) []Source {
	groups := make(map[string][]Source)
	var hosts []string
	for _, s := range sources {
		h := hostOf(s.URL)
		if groups[h] == nil {
			hosts = append(hosts, h)
		}
		groups[h] = append(groups[h], s)
	}
	out := make([]Source, 0, len(sources))
	for i := 0; len(out) < len(sources); i++ {
		for _, h := range hosts {
			if i < len(groups[h]) {
				out = append(out, groups[h][i])
			}
		}
	}
	return out
}

// hostOf is the host name a per-host limit applies to.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Hostname())
}
