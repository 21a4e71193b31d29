package views

import (
	"context"
	"sync"
	"time"
)

// Changes carries "stored content changed" between the processes that serve
// one store (several `tidings serve` on one Redis, or a shell command such
// as `tidings comments approve`), so that a change made by one shows on all
// at once instead of after Options.CacheMaxAge. The stores implement it:
// Redis with pub/sub, SQLite with a counter in the file.
type Changes interface {
	// PublishChange tells the other processes that stored content changed.
	PublishChange(ctx context.Context) error
	// SubscribeChanges calls changed for each change another process
	// published (and possibly more often: after a reconnection, when some
	// may have been missed) until ctx ends; then it returns nil. An error
	// means it could not listen.
	SubscribeChanges(ctx context.Context, changed func()) error
}

const (
	// publishTimeout bounds one announcement; a lost one leaves the other
	// processes' pages stale for at most CacheMaxAge.
	publishTimeout = 2 * time.Second
	// resubscribeDelay is the pause before listening again after the store
	// refused (it is down, say).
	resubscribeDelay = time.Second
)

// announce asks the relay to publish a change. Announcements made while one
// is being published are folded into the next, so a burst costs two.
func (s *Server) announce() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// relayChanges publishes this process's changes and drops the page cache on
// every change published elsewhere (without announcing it again), until ctx
// ends. The returned channel is closed once both loops have stopped.
func (s *Server) relayChanges(ctx context.Context) <-chan struct{} {
	done := make(chan struct{})
	ch := s.opts.Changes
	if ch == nil {
		close(done)
		return done
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			err := ch.SubscribeChanges(ctx, s.cache.invalidate)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				s.opts.Logger.Warn("views: listening for changes made by other processes", "err", err)
			}
			// Changes may have been missed while not listening.
			s.cache.invalidate()
			select {
			case <-ctx.Done():
				return
			case <-time.After(resubscribeDelay):
			}
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.changed:
			}
			pctx, cancel := context.WithTimeout(ctx, publishTimeout)
			if err := ch.PublishChange(pctx); err != nil && ctx.Err() == nil {
				s.opts.Logger.Warn("views: telling other processes about a change", "err", err)
			}
			cancel()
		}
	})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}
