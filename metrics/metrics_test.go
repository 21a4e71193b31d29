package metrics_test

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
)

func TestRegisterSharesEqualCollectors(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "tidings_test_total", Help: "a test counter"}
	a := metrics.Register(reg, prometheus.NewCounter(opts))
	b := metrics.Register(reg, prometheus.NewCounter(opts))
	if a != b {
		t.Fatal("a second equal counter was not replaced by the first")
	}
	b.Inc()
	if got := testValue(t, reg); got != 1 {
		t.Errorf("the shared counter reads %v, want 1", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("a clashing collector did not panic")
		}
	}()
	metrics.Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "tidings_test_total", Help: "other help"}))
}

func testValue(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 {
		t.Fatalf("gather: %v, %d families", err, len(mfs))
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}
