package transfer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// KeyCheckText is the constant sealed into the header's key_check with the
// exporting site's key (see ExportOptions.KeyCheck).
const KeyCheckText = "tidings export key check"

// Page sizes of the reads: small enough that a store of any size exports in
// a few megabytes of memory.
const (
	storyPage      = 200 // stories carry their content
	subscriberPage = 1000
	commentPage    = 1000
)

// ExportOptions tune Export; the zero value is fine.
type ExportOptions struct {
	// KeyCheck, when set, is KeyCheckText sealed with the site's secret
	// key; Import hands it to ImportOptions.CheckKey.
	KeyCheck []byte
	// Now stamps the header; default time.Now.
	Now func() time.Time
	// Progress, when set, is called with the counts so far after each page.
	Progress func(Counts)
}

// exporter writes records and counts them.
type exporter struct {
	w      *bufio.Writer
	counts Counts
	o      ExportOptions
}

func (e *exporter) write(kind string, rec any) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("transfer: export: encoding a %s: %w", kind, err)
	}
	b = append(b, '\n')
	if _, err := e.w.Write(b); err != nil {
		return fmt.Errorf("transfer: export: %w", err)
	}
	if slices.Contains(countedKinds, kind) {
		e.counts[kind]++
	}
	return nil
}

func (e *exporter) progress() {
	if e.o.Progress != nil {
		e.o.Progress(e.counts.clone())
	}
}

// Export writes everything st keeps to w as JSON lines (see the package
// comment for the format), reading a page at a time, and returns how many
// records of each kind it wrote. The store should not change meanwhile
// (stop the site, or at least its poller and sender): a record added during
// the export may be missing from it. A new story never makes the export
// repeat or skip another, though.
func Export(ctx context.Context, st Dumper, w io.Writer, o ExportOptions) (Counts, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &exporter{w: bufio.NewWriterSize(w, 64<<10), counts: Counts{}, o: o}
	steps := []func(context.Context, Dumper) error{
		e.header, e.marks, e.sources, e.stories, e.subscribers, e.issues, e.comments, e.adminPassword, e.end,
	}
	for _, step := range steps {
		if err := step(ctx, st); err != nil {
			return e.counts, err
		}
	}
	if err := e.w.Flush(); err != nil {
		return e.counts, fmt.Errorf("transfer: export: %w", err)
	}
	return e.counts, nil
}

func (e *exporter) header(context.Context, Dumper) error {
	return e.write(KindHeader, headerRec{Kind: KindHeader, Format: Format, Version: Version,
		CreatedAt: e.o.Now().UTC(), KeyCheck: e.o.KeyCheck})
}

func (e *exporter) marks(ctx context.Context, st Dumper) error {
	names, err := st.OnceMarks(ctx)
	if err != nil {
		return fmt.Errorf("transfer: export: %w", err)
	}
	for _, n := range names {
		if err := e.write(KindMark, markRec{KindMark, n}); err != nil {
			return err
		}
	}
	return nil
}

func (e *exporter) sources(ctx context.Context, st Dumper) error {
	srcs, err := st.Sources(ctx, feeds.SourceFilter{})
	if err != nil {
		return fmt.Errorf("transfer: export: %w", err)
	}
	for _, s := range srcs {
		if err := e.write(KindSource, fromSource(s)); err != nil {
			return err
		}
	}
	e.progress()
	return nil
}

// stories pages through every story, newest first. A story added meanwhile
// shifts the pages: one that is not strictly older than the last one
// written has been written already and is skipped.
func (e *exporter) stories(ctx context.Context, st Dumper) error {
	var last *feeds.Story
	for offset := 0; ; {
		page, err := st.Stories(ctx, feeds.StoryFilter{Limit: storyPage, Offset: offset})
		if err != nil {
			return fmt.Errorf("transfer: export: %w", err)
		}
		for i := range page {
			s := page[i]
			if last != nil && !olderThan(s, *last) {
				continue
			}
			if err := e.write(KindStory, fromStory(s)); err != nil {
				return err
			}
			last = &page[i]
		}
		e.progress()
		if len(page) < storyPage {
			return nil
		}
		offset += len(page)
	}
}

// olderThan reports whether a comes after b in the stories' order (newest
// PublishedAt first, then ID descending).
func olderThan(a, b feeds.Story) bool {
	if !a.PublishedAt.Equal(b.PublishedAt) {
		return a.PublishedAt.Before(b.PublishedAt)
	}
	return a.ID < b.ID
}

func (e *exporter) subscribers(ctx context.Context, st Dumper) error {
	var after int64
	for {
		page, err := st.Subscribers(ctx, newsletter.SubscriberFilter{AfterID: after, Limit: subscriberPage})
		if err != nil {
			return fmt.Errorf("transfer: export: %w", err)
		}
		for _, s := range page {
			if err := e.write(KindSubscriber, fromSubscriber(s)); err != nil {
				return err
			}
			after = s.ID
		}
		e.progress()
		if len(page) < subscriberPage {
			return nil
		}
	}
}

// issues writes each issue, oldest first, followed by its deliveries.
func (e *exporter) issues(ctx context.Context, st Dumper) error {
	issues, err := st.Issues(ctx, newsletter.IssueFilter{})
	if err != nil {
		return fmt.Errorf("transfer: export: %w", err)
	}
	slices.Reverse(issues)
	for _, is := range issues {
		if err := e.write(KindIssue, fromIssue(is)); err != nil {
			return err
		}
		err := st.EachDelivery(ctx, is.Week, func(ds []newsletter.Delivery) error {
			for _, d := range ds {
				if err := e.write(KindDelivery, fromDelivery(d)); err != nil {
					return err
				}
			}
			e.progress()
			return nil
		})
		if err != nil {
			return fmt.Errorf("transfer: export: %w", err)
		}
	}
	return nil
}

func (e *exporter) comments(ctx context.Context, st Dumper) error {
	var after int64
	for {
		page, err := st.Comments(ctx, comments.Filter{AfterID: after, Limit: commentPage})
		if err != nil {
			return fmt.Errorf("transfer: export: %w", err)
		}
		for _, c := range page {
			if err := e.write(KindComment, fromComment(c)); err != nil {
				return err
			}
			after = c.ID
		}
		e.progress()
		if len(page) < commentPage {
			return nil
		}
	}
}

func (e *exporter) adminPassword(ctx context.Context, st Dumper) error {
	ap, ok := st.(adminPasswords)
	if !ok {
		return nil
	}
	hash, err := ap.AdminPassword(ctx)
	if errors.Is(err, admin.ErrNoPassword) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("transfer: export: %w", err)
	}
	return e.write(KindAdminPassword, adminPasswordRec{KindAdminPassword, hash})
}

// end writes the ID counters, read last so that they cover every record
// written, and the counts.
func (e *exporter) end(ctx context.Context, st Dumper) error {
	counters, err := st.IDCounters(ctx)
	if err != nil {
		return fmt.Errorf("transfer: export: %w", err)
	}
	if err := e.write(KindCounters, countersRec{KindCounters, counters}); err != nil {
		return err
	}
	e.progress()
	return e.write(KindEnd, endRec{KindEnd, e.counts.clone()})
}
