package store_test

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/storetest"
)

// TestInstrumentConformance runs the conformance suites through the
// instrumented store, so timing changes nothing a store does, and checks
// that the calls were timed, each under its own bounded label.
func TestInstrumentConformance(t *testing.T) {
	reg := prometheus.NewRegistry()
	open := func(t *testing.T) store.Store {
		st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "tidings.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return store.Instrument(st, reg)
	}
	t.Run("feeds", func(t *testing.T) { storetest.TestFeedsStore(t, func(t *testing.T) feeds.Store { return open(t) }) })
	t.Run("newsletter", func(t *testing.T) {
		storetest.TestNewsletter(t, func(t *testing.T) newsletter.Store { return open(t) })
	})
	t.Run("comments", func(t *testing.T) { storetest.TestComments(t, func(t *testing.T) comments.Store { return open(t) }) })
	t.Run("admin", func(t *testing.T) { storetest.TestAdmin(t, func(t *testing.T) admin.Store { return open(t) }) })

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]uint64{}
	var errs int
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			op := m.GetLabel()[0].GetValue()
			switch mf.GetType() {
			case dto.MetricType_HISTOGRAM:
				calls[op] = m.GetHistogram().GetSampleCount()
			case dto.MetricType_COUNTER:
				errs++
			}
		}
	}
	if len(calls) != 28 || errs != 28 {
		t.Errorf("%d timed operations and %d error counters, want 28 each: %v", len(calls), errs, calls)
	}
	for _, op := range []string{"Story", "Stories", "Search", "ClaimDue", "AddStories", "ClaimDeliveries",
		"FinishDeliveries", "SubscriberByIndex", "AddComment", "SetStatus", "CountApproved", "AdminSession"} {
		if calls[op] == 0 {
			t.Errorf("%s was never timed", op)
		}
	}
}
