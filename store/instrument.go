package store

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// Instrument returns st timing the calls that pages, comment posts, polls
// and digest sends make on their way, in tidings_store_duration_seconds by
// operation (the method's name), and counting their failures other than
// "not found" in tidings_store_errors_total. The other methods (imports,
// exports, shell commands, rare admin writes) pass through untimed: the
// operations measured are a fixed list, so the labels stay few, and a
// method added to a domain's Store later works at once, untimed, until it
// is added here.
//
// The wrapper hides any optional interface of st (transfer.Dumper,
// transfer.Restorer): give export and import the store itself.
func Instrument(st Store, reg prometheus.Registerer) Store {
	m := &storeMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tidings_store_duration_seconds",
			Help:    "Time of a store call, by operation.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"op"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_store_errors_total",
			Help: "Store calls that failed (not counting \"not found\"), by operation.",
		}, []string{"op"}),
	}
	if reg != nil {
		m.duration = metrics.Register(reg, m.duration)
		m.errors = metrics.Register(reg, m.errors)
	}
	// Every series is created now, so dashboards see them at once, and
	// looked up here once rather than by label on every call.
	m.ops = make(map[string]opMetrics, len(timedOps))
	for _, op := range timedOps {
		m.ops[op] = opMetrics{m.duration.WithLabelValues(op), m.errors.WithLabelValues(op)}
	}
	return &instrumented{Store: st, m: m}
}

// timedOps are the operations Instrument times: every method overridden
// below.
var timedOps = []string{
	"Ping",
	"Source", "Sources", "UpdateSource", "ClaimDue", "AddStories", "Story", "Stories", "CountStories", "Search",
	"AddSubscriber", "Subscriber", "SubscribersByID", "SubscriberByIndex", "UpdateSubscriber",
	"Issue", "Issues", "ClaimDeliveries", "FinishDeliveries", "CountDeliveries",
	"AddComment", "Comments", "SetStatus", "CountApproved", "HasApproved", "CountRecent",
	"AdminSession", "TouchAdminSession",
}

type storeMetrics struct {
	duration *prometheus.HistogramVec
	errors   *prometheus.CounterVec
	ops      map[string]opMetrics // by timedOps; read-only once built
}

// opMetrics are one operation's series.
type opMetrics struct {
	duration prometheus.Observer
	errors   prometheus.Counter
}

// done records one call of op that started at start and returned err.
func (m *storeMetrics) done(op string, start time.Time, err error) {
	o := m.ops[op]
	o.duration.Observe(time.Since(start).Seconds())
	if err != nil && !notFound(err) {
		o.errors.Inc()
	}
}

// notFound reports whether err is one of the domains' "not found".
func notFound(err error) bool {
	return errors.Is(err, feeds.ErrNotFound) || errors.Is(err, newsletter.ErrNotFound) ||
		errors.Is(err, comments.ErrNotFound) || errors.Is(err, admin.ErrNotFound)
}

// timed runs f as operation op.
func timed[T any](m *storeMetrics, op string, f func() (T, error)) (T, error) {
	start := time.Now()
	v, err := f()
	m.done(op, start, err)
	return v, err
}

// instrumented is a Store that times the operations in timedOps; every
// other method is the embedded store's own.
type instrumented struct {
	Store
	m *storeMetrics
}

func (s *instrumented) Ping(ctx context.Context) error {
	start := time.Now()
	err := s.Store.Ping(ctx)
	s.m.done("Ping", start, err)
	return err
}

// Feeds: the poller's claims and writes, and every page's reads.

func (s *instrumented) Source(ctx context.Context, id int64) (feeds.Source, error) {
	return timed(s.m, "Source", func() (feeds.Source, error) { return s.Store.Source(ctx, id) })
}

func (s *instrumented) Sources(ctx context.Context, f feeds.SourceFilter) ([]feeds.Source, error) {
	return timed(s.m, "Sources", func() ([]feeds.Source, error) { return s.Store.Sources(ctx, f) })
}

func (s *instrumented) UpdateSource(ctx context.Context, src feeds.Source) error {
	start := time.Now()
	err := s.Store.UpdateSource(ctx, src)
	s.m.done("UpdateSource", start, err)
	return err
}

func (s *instrumented) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]feeds.Source, error) {
	return timed(s.m, "ClaimDue", func() ([]feeds.Source, error) { return s.Store.ClaimDue(ctx, now, lease, limit) })
}

func (s *instrumented) AddStories(ctx context.Context, sts []feeds.Story) ([]feeds.Added, error) {
	return timed(s.m, "AddStories", func() ([]feeds.Added, error) { return s.Store.AddStories(ctx, sts) })
}

func (s *instrumented) Story(ctx context.Context, id int64) (feeds.Story, error) {
	return timed(s.m, "Story", func() (feeds.Story, error) { return s.Store.Story(ctx, id) })
}

func (s *instrumented) Stories(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error) {
	return timed(s.m, "Stories", func() ([]feeds.Story, error) { return s.Store.Stories(ctx, f) })
}

func (s *instrumented) CountStories(ctx context.Context, f feeds.StoryFilter) (int, error) {
	return timed(s.m, "CountStories", func() (int, error) { return s.Store.CountStories(ctx, f) })
}

func (s *instrumented) Search(ctx context.Context, q feeds.SearchQuery) (feeds.SearchResult, error) {
	return timed(s.m, "Search", func() (feeds.SearchResult, error) { return s.Store.Search(ctx, q) })
}

// Newsletter: sign-ups, confirmations, the archive and digest sends.

func (s *instrumented) AddSubscriber(ctx context.Context, sub newsletter.Subscriber) (newsletter.Subscriber, bool, error) {
	start := time.Now()
	got, created, err := s.Store.AddSubscriber(ctx, sub)
	s.m.done("AddSubscriber", start, err)
	return got, created, err
}

func (s *instrumented) Subscriber(ctx context.Context, id int64) (newsletter.Subscriber, error) {
	return timed(s.m, "Subscriber", func() (newsletter.Subscriber, error) { return s.Store.Subscriber(ctx, id) })
}

func (s *instrumented) SubscribersByID(ctx context.Context, ids []int64) (map[int64]newsletter.Subscriber, error) {
	return timed(s.m, "SubscribersByID", func() (map[int64]newsletter.Subscriber, error) { return s.Store.SubscribersByID(ctx, ids) })
}

func (s *instrumented) SubscriberByIndex(ctx context.Context, index string) (newsletter.Subscriber, error) {
	return timed(s.m, "SubscriberByIndex", func() (newsletter.Subscriber, error) { return s.Store.SubscriberByIndex(ctx, index) })
}

func (s *instrumented) UpdateSubscriber(ctx context.Context, sub newsletter.Subscriber) error {
	start := time.Now()
	err := s.Store.UpdateSubscriber(ctx, sub)
	s.m.done("UpdateSubscriber", start, err)
	return err
}

func (s *instrumented) Issue(ctx context.Context, week string) (newsletter.Issue, error) {
	return timed(s.m, "Issue", func() (newsletter.Issue, error) { return s.Store.Issue(ctx, week) })
}

func (s *instrumented) Issues(ctx context.Context, f newsletter.IssueFilter) ([]newsletter.Issue, error) {
	return timed(s.m, "Issues", func() ([]newsletter.Issue, error) { return s.Store.Issues(ctx, f) })
}

func (s *instrumented) ClaimDeliveries(ctx context.Context, week, owner string, n int, now time.Time, lease time.Duration) ([]newsletter.Delivery, error) {
	return timed(s.m, "ClaimDeliveries", func() ([]newsletter.Delivery, error) {
		return s.Store.ClaimDeliveries(ctx, week, owner, n, now, lease)
	})
}

func (s *instrumented) FinishDeliveries(ctx context.Context, ds []newsletter.Delivery) error {
	start := time.Now()
	err := s.Store.FinishDeliveries(ctx, ds)
	s.m.done("FinishDeliveries", start, err)
	return err
}

func (s *instrumented) CountDeliveries(ctx context.Context, week string) (newsletter.DeliveryCounts, error) {
	return timed(s.m, "CountDeliveries", func() (newsletter.DeliveryCounts, error) { return s.Store.CountDeliveries(ctx, week) })
}

// Comments: posts, story pages and moderation.

func (s *instrumented) AddComment(ctx context.Context, c comments.Comment) (comments.Comment, error) {
	return timed(s.m, "AddComment", func() (comments.Comment, error) { return s.Store.AddComment(ctx, c) })
}

func (s *instrumented) Comments(ctx context.Context, f comments.Filter) ([]comments.Comment, error) {
	return timed(s.m, "Comments", func() ([]comments.Comment, error) { return s.Store.Comments(ctx, f) })
}

func (s *instrumented) SetStatus(ctx context.Context, id int64, from, to comments.Status, at time.Time) (comments.Comment, error) {
	return timed(s.m, "SetStatus", func() (comments.Comment, error) { return s.Store.SetStatus(ctx, id, from, to, at) })
}

func (s *instrumented) CountApproved(ctx context.Context, storyIDs []int64) (map[int64]int, error) {
	return timed(s.m, "CountApproved", func() (map[int64]int, error) { return s.Store.CountApproved(ctx, storyIDs) })
}

func (s *instrumented) HasApproved(ctx context.Context, emailIndex, author string) (bool, error) {
	return timed(s.m, "HasApproved", func() (bool, error) { return s.Store.HasApproved(ctx, emailIndex, author) })
}

func (s *instrumented) CountRecent(ctx context.Context, ipHash string, since time.Time) (int, error) {
	return timed(s.m, "CountRecent", func() (int, error) { return s.Store.CountRecent(ctx, ipHash, since) })
}

// Admin: every admin page checks its session.

func (s *instrumented) AdminSession(ctx context.Context, id string) (admin.Session, error) {
	return timed(s.m, "AdminSession", func() (admin.Session, error) { return s.Store.AdminSession(ctx, id) })
}

func (s *instrumented) TouchAdminSession(ctx context.Context, id string, seen, expires time.Time) error {
	start := time.Now()
	err := s.Store.TouchAdminSession(ctx, id, seen, expires)
	s.m.done("TouchAdminSession", start, err)
	return err
}
