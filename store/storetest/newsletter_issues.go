package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// bigHTML is about 200 KB of markup with multi-byte characters, quotes, NUL-free
// control characters and the unsubscribe placeholder, as a long issue has.
func bigHTML() string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><body>\r\n")
	for i := 0; b.Len() < 200_000; i++ {
		fmt.Fprintf(&b, "<h2>Story %d — «Ünïcode» 中文 🔒</h2>\n<p style=\"x\">It's a 'quoted' \"story\" \t%d &amp; more.</p>\n", i, i*7)
	}
	b.WriteString(`<a href="` + newsletter.UnsubscribePlaceholder + `">Unsubscribe</a></body></html>`)
	return b.String()
}

func testSaveIssueRoundTrip(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	in := newsletter.Issue{
		Week:       "2026-W10",
		ComposedAt: base.In(elsewhere),
		Since:      base.Add(-7*24*time.Hour + 1).In(elsewhere),
		Until:      base.Add(-1),
		Subject:    "Tidings 2026-W10: «Ünïcode» news — 中文 🔒",
		StoryIDs:   []int64{42, 7, 1 << 40, 3, 9_007_199_254_740_993}, // the last one is not exact as a float64
		HTML:       bigHTML(),
		Text:       "Line one\r\nLine two\n\tindented\n" + newsletter.UnsubscribePlaceholder + "\n",
	}
	got, created, err := s.SaveIssue(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Fatal("created = false for a new week")
	}
	if d := diffIssue(got, in); d != "" {
		t.Errorf("SaveIssue returned: %s", d)
	}
	checkIssue(t, s, "after SaveIssue", in)

	// An issue saved with send state keeps it; one with no stories has none.
	sent := newIssue("2026-W11")
	sent.StoryIDs = nil
	sent.SendStartedAt = base.Add(time.Hour + 5).In(elsewhere)
	sent.PlannedThrough = 1234
	sent.Planned = true
	sent.SentAt = base.Add(2*time.Hour + 6)
	mustSaveIssue(t, s, sent)
	got = checkIssue(t, s, "an issue saved with its send state", sent)
	if len(got.StoryIDs) != 0 {
		t.Errorf("StoryIDs of an issue without stories = %v", got.StoryIDs)
	}
}

// checkIssue reads want.Week with Issue and with Issues, and requires want.
func checkIssue(t *testing.T, s newsletter.Store, what string, want newsletter.Issue) newsletter.Issue {
	t.Helper()
	got, err := s.Issue(t.Context(), want.Week)
	if err != nil {
		t.Fatalf("%s: Issue(%s): %v", what, want.Week, err)
	}
	if d := diffIssue(got, want); d != "" {
		t.Errorf("%s: Issue: %s", what, d)
	}
	all, err := s.Issues(t.Context(), newsletter.IssueFilter{})
	if err != nil {
		t.Fatalf("%s: Issues: %v", what, err)
	}
	i := slices.IndexFunc(all, func(is newsletter.Issue) bool { return is.Week == want.Week })
	if i < 0 {
		t.Fatalf("%s: Issues %v lack %s", what, issueWeeks(all), want.Week)
	}
	if d := diffIssue(all[i], want); d != "" {
		t.Errorf("%s: Issues: %s", what, d)
	}
	return got
}

// The first issue of a week stays; saving another returns it untouched.
func testSaveIssueOncePerWeek(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	first := mustSaveIssue(t, s, newIssue("2026-W10"))
	second := newIssue("2026-W10")
	second.Subject = "Recomposed"
	second.StoryIDs = []int64{9}
	second.ComposedAt = base.Add(time.Hour)
	got, created, err := s.SaveIssue(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Fatal("a second SaveIssue of one week created an issue")
	}
	if d := diffIssue(got, first); d != "" {
		t.Errorf("a refused SaveIssue must return the stored issue: %s", d)
	}
	checkIssue(t, s, "after a refused SaveIssue", first)
	if all, err := s.Issues(ctx, newsletter.IssueFilter{}); err != nil || len(all) != 1 {
		t.Errorf("Issues = %v, %v; want one", issueWeeks(all), err)
	}
	if _, _, err := s.SaveIssue(ctx, newIssue("")); err == nil {
		t.Error("SaveIssue with an empty Week succeeded")
	}
}

// Eight processes composing one week at once keep one issue.
func testSaveIssueRace(t *testing.T, s newsletter.Store) {
	const racers = 8
	type result struct {
		is      newsletter.Issue
		created bool
		err     error
	}
	results := make([]result, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			is := newIssue("2026-W20")
			is.Subject = fmt.Sprintf("Composed by racer %d", i)
			<-start
			r := &results[i]
			r.is, r.created, r.err = s.SaveIssue(t.Context(), is)
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("racer %d: %v", i, r.err)
		}
		if r.created {
			if winner >= 0 {
				t.Fatalf("racers %d and %d both created the issue", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("none of %d racers created the issue", racers)
	}
	for i, r := range results {
		if r.is.Subject != results[winner].is.Subject {
			t.Errorf("racer %d got Subject %q, want the winner's %q", i, r.is.Subject, results[winner].is.Subject)
		}
	}
	checkIssue(t, s, "after the race", results[winner].is)
}

func testIssueNotFound(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	if _, err := s.Issue(ctx, "2026-W10"); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("Issue(missing): err = %v, want ErrNotFound", err)
	}
	if err := s.UpdateIssueSend(ctx, newIssue("2026-W10")); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("UpdateIssueSend(missing): err = %v, want ErrNotFound", err)
	}
	if all, err := s.Issues(ctx, newsletter.IssueFilter{}); err != nil || len(all) != 0 {
		t.Errorf("Issues on an empty store = %v, %v; want none", issueWeeks(all), err)
	}
	// The failed update created nothing.
	if _, err := s.Issue(ctx, "2026-W10"); !errors.Is(err, newsletter.ErrNotFound) {
		t.Errorf("Issue after UpdateIssueSend(missing): err = %v, want ErrNotFound", err)
	}
}

// testIssuesOrder: newest week first, across a year's end; SentOnly keeps
// the issues whose send has started; Limit cuts the list.
func testIssuesOrder(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	for _, w := range []string{"2026-W09", "2025-W52", "2026-W10", "2026-W01", "2025-W01"} {
		mustSaveIssue(t, s, newIssue(w))
	}
	for _, w := range []string{"2025-W52", "2026-W09"} {
		is := newIssue(w)
		is.SendStartedAt = base
		if err := s.UpdateIssueSend(ctx, is); err != nil {
			t.Fatal(err)
		}
	}
	// Planned and SentAt without SendStartedAt do not make an issue sent.
	odd := newIssue("2026-W01")
	odd.Planned, odd.PlannedThrough = true, 5
	if err := s.UpdateIssueSend(ctx, odd); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f    newsletter.IssueFilter
		want []string
	}{
		{newsletter.IssueFilter{}, []string{"2026-W10", "2026-W09", "2026-W01", "2025-W52", "2025-W01"}},
		{newsletter.IssueFilter{Limit: 2}, []string{"2026-W10", "2026-W09"}},
		{newsletter.IssueFilter{Limit: 10}, []string{"2026-W10", "2026-W09", "2026-W01", "2025-W52", "2025-W01"}},
		{newsletter.IssueFilter{SentOnly: true}, []string{"2026-W09", "2025-W52"}},
		{newsletter.IssueFilter{SentOnly: true, Limit: 1}, []string{"2026-W09"}},
	} {
		got, err := s.Issues(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(issueWeeks(got), c.want) {
			t.Errorf("Issues(%+v) = %v, want %v", c.f, issueWeeks(got), c.want)
		}
	}
}

// UpdateIssueSend writes the four send fields and nothing else.
func testUpdateIssueSend(t *testing.T, s newsletter.Store) {
	ctx := t.Context()
	stored := mustSaveIssue(t, s, newIssue("2026-W10"))
	other := mustSaveIssue(t, s, newIssue("2026-W11"))

	update := newsletter.Issue{
		Week:           stored.Week,
		ComposedAt:     base.Add(99 * time.Hour), // the content must not change
		Subject:        "Changed",
		StoryIDs:       []int64{99},
		HTML:           "changed",
		SendStartedAt:  base.Add(7).In(elsewhere),
		PlannedThrough: 1 << 40,
		Planned:        true,
		SentAt:         base.Add(time.Hour + 8).In(elsewhere),
	}
	if err := s.UpdateIssueSend(ctx, update); err != nil {
		t.Fatal(err)
	}
	want := stored
	want.SendStartedAt, want.PlannedThrough, want.Planned, want.SentAt =
		update.SendStartedAt, update.PlannedThrough, update.Planned, update.SentAt
	checkIssue(t, s, "after UpdateIssueSend", want)
	checkIssue(t, s, "the other week", other)

	// Back to nothing sent: zero values come back as zero.
	if err := s.UpdateIssueSend(ctx, newsletter.Issue{Week: stored.Week}); err != nil {
		t.Fatal(err)
	}
	checkIssue(t, s, "after clearing the send state", stored)
}
