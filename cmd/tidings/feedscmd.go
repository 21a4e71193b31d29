package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tidings/tidings/feeds"
)

// defaultSourcesMark records that the built-in list was loaded, or that the
// operator chose sources, so the built-in list never comes back uninvited.
const defaultSourcesMark = "default-sources"

func feedsCommands() []*command {
	return []*command{
		{name: "add", usage: "URL [--on-topic]", summary: "add a feed", flags: func(fs *flag.FlagSet, c *Config) {
			fs.BoolVar(&c.OnTopic, "on-topic", false, "every story of this feed is about privacy: show them all")
		}, run: cmdFeedsAdd},
		{name: "list", summary: "list feeds with their status, last error and next poll", run: cmdFeedsList},
		{name: "remove", usage: "ID", summary: "remove a feed (its stories stay)", run: cmdFeedsRemove},
		{name: "import", usage: "FILE", summary: "add the feeds of an OPML file or of a file with one URL a line (- for stdin)", run: cmdFeedsImport},
		{name: "export", summary: "write every feed as OPML to stdout", run: cmdFeedsExport},
	}
}

func cmdFeedsAdd(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return a.usageError("feeds add takes one URL")
	}
	u, err := feeds.CanonicalURL(args[0], nil)
	if err != nil {
		return fmt.Errorf("%q is not a feed URL: %w", args[0], err)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.MarkOnce(ctx, defaultSourcesMark); err != nil {
		return err
	}
	src, err := st.AddSource(ctx, feeds.Source{URL: u, OnTopic: a.cfg.OnTopic})
	if errors.Is(err, feeds.ErrExists) {
		fmt.Fprintf(a.stdout, "feed #%d %s is already there\n", src.ID, src.URL)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "added feed #%d %s\n", src.ID, src.URL)
	return nil
}

func cmdFeedsList(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("feeds list takes no arguments")
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	srcs, err := st.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tLAST POLL\tNEXT POLL\tURL\tLAST ERROR")
	for _, s := range srcs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, sourceStatus(s), when(s.LastPolledAt), when(s.NextPollAt), s.URL, s.LastError)
	}
	return tw.Flush()
}

func sourceStatus(s feeds.Source) string {
	switch {
	case s.Paused:
		return "paused"
	case s.ErrorCount > 0:
		return fmt.Sprintf("failing×%d", s.ErrorCount)
	case s.LastPolledAt.IsZero():
		return "new"
	}
	if s.OnTopic {
		return "ok,on-topic"
	}
	return "ok"
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

func cmdFeedsRemove(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return a.usageError("feeds remove takes one feed ID (see 'tidings feeds list')")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(args[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return a.usageError("%q is not a feed ID (see 'tidings feeds list')", args[0])
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RemoveSource(ctx, id); err != nil {
		if errors.Is(err, feeds.ErrNotFound) {
			return fmt.Errorf("no feed #%d", id)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "removed feed #%d\n", id)
	return nil
}

func cmdFeedsImport(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return a.usageError("feeds import takes one file (OPML, or one URL a line; - for stdin)")
	}
	var r io.Reader = a.stdin
	if args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return a.importSources(ctx, st, r)
}

// importSources adds every feed of an OPML or URL-list reader and reports
// counts; bad lines are printed, not fatal.
func (a *app) importSources(ctx context.Context, st feeds.Store, r io.Reader) error {
	urls, listErr := feeds.ParseSourceList(r)
	var le *feeds.ListError
	if listErr != nil && !errors.As(listErr, &le) {
		return listErr
	}
	if _, err := st.MarkOnce(ctx, defaultSourcesMark); err != nil {
		return err
	}
	added, existing := 0, 0
	for _, u := range urls {
		_, err := st.AddSource(ctx, feeds.Source{URL: u})
		switch {
		case errors.Is(err, feeds.ErrExists):
			existing++
		case err != nil:
			return err
		default:
			added++
		}
	}
	fmt.Fprintf(a.stdout, "feeds: %d added, %d already there", added, existing)
	if le == nil {
		fmt.Fprintln(a.stdout)
		return nil
	}
	fmt.Fprintf(a.stdout, ", %d skipped:\n", len(le.Problems))
	for _, p := range le.Problems {
		where := "list"
		if p.Line > 0 {
			where = fmt.Sprintf("line %d", p.Line)
		}
		fmt.Fprintf(a.stdout, "  %s %q: %s\n", where, p.Entry, p.Reason)
	}
	return nil
}

func cmdFeedsExport(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("feeds export takes no arguments; it writes OPML to stdout")
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	srcs, err := st.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return err
	}
	return feeds.WriteOPML(a.stdout, "Tidings feeds", srcs)
}

// loadSources loads --feeds FILE when given; otherwise, on a store that has
// never had sources, the built-in list, once.
func (a *app) loadSources(ctx context.Context, st feeds.Store) error {
	if a.cfg.Feeds != "" {
		f, err := os.Open(a.cfg.Feeds)
		if err != nil {
			return fmt.Errorf("--feeds: %w", err)
		}
		defer f.Close()
		return a.importSources(ctx, st, f)
	}
	have, err := st.Sources(ctx, feeds.SourceFilter{})
	if err != nil || len(have) > 0 {
		return err
	}
	first, err := st.MarkOnce(ctx, defaultSourcesMark)
	if err != nil || !first {
		return err
	}
	for _, src := range feeds.DefaultSources() {
		if _, err := st.AddSource(ctx, src); err != nil && !errors.Is(err, feeds.ErrExists) {
			return err
		}
	}
	return nil
}
