package mail

import (
	"context"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tidings/tidings/mail/mailtest"
)

// TestInstrumentCountsByKind sends through a real SMTP conversation: one
// digest and one confirmation delivered, a comment mail refused for good
// and an untagged one refused for now, and reads the counts back from the
// registry.
func TestInstrumentCountsByKind(t *testing.T) {
	s := mailtest.NewServer(t, mailtest.ServerOptions{Reject: func(_, to string) error {
		switch to {
		case "gone@example.org":
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		case "later@example.org":
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		}
		return nil
	}})
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	if again := NewMetrics(reg); again.sent != m.sent {
		t.Fatal("registering twice made new counters")
	}
	tr := Instrument(open(t, s.URL(), Options{Rate: -1}), m)
	ctx := context.Background()
	sends := []struct {
		kind Kind
		to   string
		ok   bool
	}{
		{KindDigest, "a@example.org", true},
		{KindConfirmation, "b@example.org", true},
		{KindComment, "gone@example.org", false},
		{"made-up", "later@example.org", false},
	}
	for _, c := range sends {
		err := tr.Send(WithKind(ctx, c.kind), sender, c.to, render(t, c.to, 1))
		if (err == nil) != c.ok {
			t.Fatalf("send %s to %s: %v", c.kind, c.to, err)
		}
	}
	want := map[string]float64{
		`tidings_mail_sent_total{kind="digest"}`:                        1,
		`tidings_mail_sent_total{kind="confirmation"}`:                  1,
		`tidings_mail_sent_total{kind="comment"}`:                       0,
		`tidings_mail_failed_total{kind="comment",permanent="true"}`:    1,
		`tidings_mail_failed_total{kind="other",permanent="false"}`:     1,
		`tidings_mail_failed_total{kind="digest",permanent="true"}`:     0,
		`tidings_mail_send_duration_seconds_count{kind="digest"}`:       1,
		`tidings_mail_send_duration_seconds_count{kind="comment"}`:      1,
		`tidings_mail_send_duration_seconds_count{kind="confirmation"}`: 1,
		`tidings_mail_send_duration_seconds_count{kind="other"}`:        1,
	}
	got := gather(t, reg)
	for series, n := range want {
		v, ok := got[series]
		if !ok {
			t.Errorf("%s missing", series)
		} else if v != n {
			t.Errorf("%s = %v, want %v", series, v, n)
		}
	}
	// sent: 4 kinds; failed: 4 kinds × 2; duration: count and sum × 4
	// kinds. No other label value ever appears.
	if n := 4 + 4*2 + 2*4; len(got) != n {
		t.Errorf("%d series, want %d: %v", len(got), n, got)
	}
}

// TestInstrumentNil leaves a transport alone when there are no metrics.
func TestInstrumentNil(t *testing.T) {
	tr := open(t, "smtp://127.0.0.1:1", Options{})
	if Instrument(tr, nil) != tr {
		t.Fatal("Instrument(t, nil) wrapped t")
	}
}

// gather reads every counter and histogram count/sum of reg as
// `name{label="value",…}` → value, labels in their registered order.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			labels := ""
			for i, lp := range mt.GetLabel() {
				if i > 0 {
					labels += ","
				}
				labels += lp.GetName() + `="` + lp.GetValue() + `"`
			}
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[mf.GetName()+"{"+labels+"}"] = mt.GetCounter().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[mf.GetName()+"_count{"+labels+"}"] = float64(mt.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum{"+labels+"}"] = mt.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}
