package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// breakerHook spares the callers of a hung or stopped server the wait: once
// a command found the server unreachable, the next ones fail at once with
// feeds.ErrUnavailable, and every breakerWait one is let through as a probe.
// Any answer of the server closes the breaker again. One failure is
// enough: go-redis has retried that command, so the server has not answered
// for a second or so, or refused the connection twice. Without it, a hung
// server costs every request its own timeouts (about a second each), so the
// site answers slowly and few requests get answered at all; with it, one
// request a moment pays them. It is for one server: on a cluster, one
// node's failure would stop every node's commands, so clusters go without.
type breakerHook struct {
	open    atomic.Bool // the fast path: false while the server answers
	mu      sync.Mutex
	retryAt time.Time // when the next probe may go
	probing bool      // a probe is under way
}

// breakerWait is how long the breaker fails commands at once before it
// lets one probe through: the site notices a server back within it.
const breakerWait = 250 * time.Millisecond

// errBreakerOpen is a command refused without trying.
var errBreakerOpen = fmt.Errorf("%w: redis did not answer a moment ago", feeds.ErrUnavailable)

func (*breakerHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (b *breakerHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		probe, ok := b.allow()
		if !ok {
			cmd.SetErr(errBreakerOpen)
			return errBreakerOpen
		}
		err := next(ctx, cmd)
		b.record(probe, err)
		return err
	}
}

func (b *breakerHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		probe, ok := b.allow()
		if !ok {
			for _, cmd := range cmds {
				cmd.SetErr(errBreakerOpen)
			}
			return errBreakerOpen
		}
		err := next(ctx, cmds)
		b.record(probe, err)
		return err
	}
}

// allow reports whether a command may go to the server, and whether it is
// the probe.
func (b *breakerHook) allow() (probe, ok bool) {
	if !b.open.Load() {
		return false, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open.Load():
		return false, true
	case b.probing || time.Now().Before(b.retryAt):
		return false, false
	}
	b.probing = true
	return true, true
}

// record notes how a command sent to the server ended: a sign that the
// server is gone opens the breaker; an answer closes it; the caller's own
// deadline or a full pool says nothing about the server.
func (b *breakerHook) record(probe bool, err error) {
	gone := err != nil && serverGone(err)
	if !gone && !probe && !b.open.Load() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe {
		b.probing = false
	}
	switch {
	case gone:
		b.open.Store(true)
		b.retryAt = time.Now().Add(breakerWait)
	case err == nil || !unreachable(err):
		b.open.Store(false)
	}
}

// serverGone reports whether err says the server itself did not answer (as
// opposed to the caller giving up, or the pool being busy).
func serverGone(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		errors.Is(err, goredis.ErrPoolTimeout) || errors.Is(err, goredis.ErrPoolExhausted) ||
		errors.Is(err, goredis.ErrClosed) {
		return false
	}
	return unreachable(err)
}
