package comments_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/comments"
)

// TestMetricsCountOutcomesAndActions submits comments of every outcome and
// moderates them, then reads the counters back from the registry.
func TestMetricsCountOutcomesAndActions(t *testing.T) {
	reg := prometheus.NewRegistry()
	f := newFixture(t, fixtureOptions{metrics: comments.NewMetrics(reg)})
	ctx := context.Background()

	held := f.submit(t, f.sub("Ann", "ann@example.org", "First."))
	if _, err := f.svc.Approve(ctx, held.ID); err != nil {
		t.Fatal(err)
	}
	f.submit(t, f.sub("Ann", "ann@example.org", "Returning, so published.")) // approved
	quick := f.sub("Bot", "bot@example.org", "Too quick.")
	quick.FormTime = f.now()
	spam := f.submit(t, quick) // spam
	if _, err := f.svc.Submit(ctx, f.sub("", "not an address", "")); !errors.As(err, new(*comments.FormError)) {
		t.Fatalf("a bad form: %v", err)
	}
	if _, err := f.svc.Submit(ctx, f.sub("Cy", "cy@example.org", "One.")); err != nil { // held
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, f.sub("Cy", "cy@example.org", "Two, at once.")); !errors.Is(err, comments.ErrRateLimited) {
		t.Fatalf("a second comment at once: %v", err)
	}
	missing := f.sub("Di", "di@example.org", "Where is it?")
	missing.StoryID = f.story.ID + 1000
	if _, err := f.svc.Submit(ctx, missing); err == nil {
		t.Fatal("a comment under a missing story was taken")
	}
	f.advance(time.Minute)
	if _, err := f.svc.Reject(ctx, spam.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reject(ctx, spam.ID); err != nil { // no change: not counted
		t.Fatal(err)
	}
	if _, err := f.svc.MarkSpam(ctx, spam.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, spam.ID); err != nil {
		t.Fatal(err)
	}

	got := counters(t, reg)
	want := map[string]float64{
		"tidings_comments_submitted_total/approved":     1,
		"tidings_comments_submitted_total/held":         2,
		"tidings_comments_submitted_total/spam":         1,
		"tidings_comments_submitted_total/refused":      1,
		"tidings_comments_submitted_total/rate_limited": 1,
		"tidings_comments_submitted_total/error":        1,
		"tidings_comments_moderated_total/approve":      1,
		"tidings_comments_moderated_total/reject":       1,
		"tidings_comments_moderated_total/spam":         1,
		"tidings_comments_moderated_total/hold":         0,
		"tidings_comments_moderated_total/delete":       1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("series %v, want exactly %d", got, len(want))
	}
}

// counters reads every counter of reg with one label as "name/value" → count.
func counters(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != 1 || m.GetCounter() == nil {
				t.Fatalf("%s: unexpected series %v", mf.GetName(), m)
			}
			out[mf.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	return out
}
