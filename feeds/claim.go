package feeds

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// releaseTimeout bounds the store writes that hand back the claims of a
// round cut short; they run after the round's context has ended.
const releaseTimeout = 5 * time.Second

// claims hands a polling round its sources, a batch at a time, and keeps
// track of the claims it took so that those left unpolled by a cancelled
// round are handed back instead of waiting for their lease to run out.
type claims struct {
	p   *Poller
	all bool // every unpaused source, in one batch, claiming nothing

	mu   sync.Mutex
	held map[int64]claimed // claimed and not yet recorded
	seen map[int64]bool    // every source this round was given
}

// claimed is a source as it was before the claim, and when the claim ends.
type claimed struct {
	src   Source
	until time.Time
}

// batchSize is how many due sources one claim takes: enough to keep every
// worker busy while the next batch is claimed, few enough that the lease
// outlasts their polls.
func (c *claims) batchSize() int { return max(4, 2*c.p.opts.Workers) }

// next returns the round's first batch.
func (c *claims) next(ctx context.Context) ([]Source, error) {
	if c.all {
		sources, err := c.p.store.Sources(ctx, SourceFilter{})
		if err != nil {
			return nil, fmt.Errorf("feeds: listing sources: %w", err)
		}
		return slices.DeleteFunc(sources, func(s Source) bool { return s.Paused }), nil
	}
	return c.claim(ctx)
}

// more returns the batch after one of size n, or nothing when the round is
// over: all sources come in one batch, and a claim that took fewer than it
// asked for left no due source behind.
func (c *claims) more(ctx context.Context, n int) ([]Source, error) {
	if c.all || n < c.batchSize() {
		return nil, nil
	}
	return c.claim(ctx)
}

// claim takes the next batch of due sources. A source this round already
// polled is never polled again in it (its next poll is later than now unless
// the clock stands still), so a batch of those only ends the round.
func (c *claims) claim(ctx context.Context) ([]Source, error) {
	now := c.p.now()
	until := now.Add(c.p.opts.ClaimLease)
	batch, err := c.p.store.ClaimDue(ctx, now, c.p.opts.ClaimLease, c.batchSize())
	if err != nil {
		return nil, fmt.Errorf("feeds: claiming due sources: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	batch = slices.DeleteFunc(batch, func(s Source) bool { return c.seen[s.ID] })
	for _, s := range batch {
		c.seen[s.ID] = true
		c.held[s.ID] = claimed{src: s, until: until}
	}
	return batch, nil
}

// finished notes that a source's poll was recorded, which ended its claim.
func (c *claims) finished(id int64) {
	c.mu.Lock()
	delete(c.held, id)
	c.mu.Unlock()
}

// countDue counts the due sources not yet claimed, for a progress total.
func (c *claims) countDue(ctx context.Context) int {
	due, err := c.p.store.Sources(ctx, SourceFilter{DueBy: c.p.now()})
	if err != nil {
		return 0
	}
	return len(due)
}

// releaseUnpolled hands back the claims of sources the round did not poll
// (it was cancelled): each gets its NextPollAt from before the claim again,
// unless something else has written it since. A claim not handed back (the
// store is down) only delays that source until its lease ends.
func (c *claims) releaseUnpolled() {
	c.mu.Lock()
	left := make([]claimed, 0, len(c.held))
	for _, cl := range c.held {
		left = append(left, cl)
	}
	clear(c.held)
	c.mu.Unlock()
	if len(left) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	for _, cl := range left {
		cur, err := c.p.store.Source(ctx, cl.src.ID)
		if err != nil || !cur.NextPollAt.Equal(cl.until) {
			continue // removed, or written since: nothing to hand back
		}
		cur.NextPollAt = cl.src.NextPollAt
		if err := c.p.store.UpdateSource(ctx, cur); err != nil {
			c.p.log.Warn("feeds: handing back a claimed source", "source", cl.src.ID, "err", err)
		}
	}
}
