package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// unavailableHook marks every command or pipeline that failed because the
// server could not be reached (down, restarting, hung, overloaded) with
// feeds.ErrUnavailable, so that the site answers "try again in a moment"
// (503) instead of "something went wrong" (500). It is the one place the
// store turns go-redis's network errors into that sentinel: every store
// method passes its client error on wrapped, so the mark survives.
type unavailableHook struct{}

func (unavailableHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (unavailableHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		markCmd(cmd)
		return markUnavailable(err)
	}
}

func (unavailableHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			markCmd(cmd)
		}
		return markUnavailable(err)
	}
}

// markCmd marks cmd's error, which is what callers read (cmd.Err(),
// Result()), when the server could not be reached.
func markCmd(cmd goredis.Cmder) {
	if err := cmd.Err(); err != nil && unreachable(err) && !errors.Is(err, feeds.ErrUnavailable) {
		cmd.SetErr(markUnavailable(err))
	}
}

// markUnavailable wraps err with feeds.ErrUnavailable when it says the
// server could not be reached, once; any other error is returned as it is.
func markUnavailable(err error) error {
	if err == nil || errors.Is(err, feeds.ErrUnavailable) || !unreachable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", feeds.ErrUnavailable, err)
}

// unreachable reports whether err means that the server did not answer, as
// opposed to answering with an error of its own (a bad command, a script
// error, a cross-slot request), which retrying would not cure.
func unreachable(err error) bool {
	if errors.Is(err, goredis.Nil) {
		return false
	}
	var ne net.Error // refused, reset, timed out, no route: every socket error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), // connection closed under a reply
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, context.DeadlineExceeded), // the dial timeout, or the caller's deadline while waiting
		errors.Is(err, goredis.ErrPoolTimeout), errors.Is(err, goredis.ErrPoolExhausted),
		errors.Is(err, goredis.ErrClosed): // the client is shutting down with the process
		return true
	}
	// The server's own "not now" answers: still loading its data after a
	// restart, a cluster without a quorum or in a slot migration, a replica
	// without its master, or no room for another client.
	return goredis.IsLoadingError(err) || goredis.IsClusterDownError(err) || goredis.IsTryAgainError(err) ||
		goredis.IsMasterDownError(err) || goredis.IsMaxClientsError(err)
}
