package mail

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
)

// Kind says what a message is, for the mailer's metrics. The sender of a
// message tags its context with WithKind; Instrument reads it.
type Kind string

// Kinds of mail Tidings sends.
const (
	KindDigest       Kind = "digest"       // a weekly issue
	KindConfirmation Kind = "confirmation" // the double opt-in mail
	KindComment      Kind = "comment"      // a reply notification or a note to the moderator
	KindOther        Kind = "other"        // untagged: anything else
)

var kinds = []Kind{KindDigest, KindConfirmation, KindComment, KindOther}

type kindKey struct{}

// WithKind returns ctx tagged with the kind of the message about to be sent
// through it. A kind outside the constants above counts as KindOther, so
// the metrics' labels stay few.
func WithKind(ctx context.Context, k Kind) context.Context {
	return context.WithValue(ctx, kindKey{}, k)
}

// kindOf is the kind ctx was tagged with, or KindOther.
func kindOf(ctx context.Context) Kind {
	k, _ := ctx.Value(kindKey{}).(Kind)
	switch k {
	case KindDigest, KindConfirmation, KindComment:
		return k
	}
	return KindOther
}

// Metrics are the mailer's Prometheus instruments: messages sent and
// failed, and how long a send took, by kind.
type Metrics struct {
	sent     *prometheus.CounterVec
	failed   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics creates the mailer's instruments and registers them with reg
// (nil: not registered). Registering twice with one registry reuses the
// instruments already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_mail_sent_total",
			Help: "Messages handed to the mail server (or written to the outbox), by kind: digest, confirmation, comment or other.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_mail_failed_total",
			Help: "Messages that could not be sent, by kind and by whether the server's refusal was permanent (5xx).",
		}, []string{"kind", "permanent"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tidings_mail_send_duration_seconds",
			Help:    "Time to send one message, waiting for a connection and the rate limit included, by kind.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"kind"}),
	}
	// Start every series at zero so dashboards and alerts see them at once.
	for _, k := range kinds {
		m.sent.WithLabelValues(string(k))
		m.failed.WithLabelValues(string(k), "false")
		m.failed.WithLabelValues(string(k), "true")
		m.duration.WithLabelValues(string(k))
	}
	if reg != nil {
		m.sent = metrics.Register(reg, m.sent)
		m.failed = metrics.Register(reg, m.failed)
		m.duration = metrics.Register(reg, m.duration)
	}
	return m
}

// Instrument returns t counting each Send in m, by the kind its context
// was tagged with (WithKind). A nil m returns t itself.
func Instrument(t Transport, m *Metrics) Transport {
	if m == nil {
		return t
	}
	return &instrumented{Transport: t, m: m}
}

// instrumented is a Transport that counts what it sends.
type instrumented struct {
	Transport
	m *Metrics
}

// Send sends through the wrapped transport and counts the outcome. A send
// cancelled by its caller is neither sent nor failed.
func (t *instrumented) Send(ctx context.Context, from, to string, raw []byte) error {
	start := time.Now()
	err := t.Transport.Send(ctx, from, to, raw)
	t.count(ctx, start, err)
	return err
}

// sendEach implements eachSender, counting each message as its outcome
// comes; a message's duration runs from the previous outcome.
func (t *instrumented) sendEach(ctx context.Context, from string, msgs []Outgoing, result func(int, error) bool) {
	start := time.Now()
	SendEach(ctx, t.Transport, from, msgs, func(i int, err error) bool {
		t.count(ctx, start, err)
		start = time.Now()
		return result(i, err)
	})
}

// count records one message's outcome, err, for a send that began at start.
func (t *instrumented) count(ctx context.Context, start time.Time, err error) {
	kind := string(kindOf(ctx))
	switch {
	case err == nil:
		t.m.sent.WithLabelValues(kind).Inc()
	case ctx.Err() != nil:
		return
	case IsPermanent(err):
		t.m.failed.WithLabelValues(kind, "true").Inc()
	default:
		t.m.failed.WithLabelValues(kind, "false").Inc()
	}
	t.m.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
}
