package main

import (
	"context"
	"flag"
	"fmt"
)

func pollFlags(fs *flag.FlagSet, c *Config) {
	fs.BoolVar(&c.PollOnce, "once", false, "poll once and exit (without it, poll on schedule until stopped)")
	fs.BoolVar(&c.PollAll, "all", false, "with --once: poll every feed, not only those that are due")
}

// cmdPoll polls feeds: once with a summary, or on schedule as a poller-only process.
func cmdPoll(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("poll takes no arguments, got %q", args)
	}
	if a.cfg.PollAll && !a.cfg.PollOnce {
		return a.usageError("--all goes with --once")
	}
	logger := a.logger()
	st, err := a.openStoreWithSources(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	// New stories are announced to the running sites, which show them at once.
	poller := a.newPoller(st, nil, logger, func() { announceChange(ctx, st, logger) })
	if err := poller.Warm(ctx); err != nil {
		logger.Warn("loading recent stories for Similar Posts", "err", err)
	}
	if !a.cfg.PollOnce {
		return poller.Run(ctx)
	}
	bar := newProgress(a.stderr, "polling feeds")
	sum, err := poller.PollOnce(ctx, a.cfg.PollAll, bar.update)
	bar.done()
	fmt.Fprintf(a.stdout, "polled %d feeds: %d with new content, %d not modified, %d failed; %d items, %d new stories\n",
		sum.Polled+len(sum.Failed), sum.Polled-sum.NotModified, sum.NotModified, len(sum.Failed), sum.Items, sum.NewStories)
	for _, f := range sum.Failed {
		fmt.Fprintf(a.stdout, "  failed #%d %s: %s\n", f.SourceID, f.URL, f.Reason)
	}
	return err
}
