package comments

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/metrics"
)

// Outcomes of a submission, as counted by Metrics.
const (
	outcomeApproved    = "approved"     // published at once
	outcomeHeld        = "held"         // pending moderation
	outcomeSpam        = "spam"         // judged spam by the rules
	outcomeRefused     = "refused"      // a field was refused: nothing stored
	outcomeRateLimited = "rate_limited" // too many from one client: nothing stored
	outcomeError       = "error"        // the story is gone, or the store failed
)

// Moderation actions, as counted by Metrics.
const (
	actionApprove = "approve"
	actionReject  = "reject"
	actionSpam    = "spam"
	actionHold    = "hold"
	actionDelete  = "delete"
)

// Metrics are the comment service's Prometheus instruments. A nil *Metrics
// records nothing.
type Metrics struct {
	submissions *prometheus.CounterVec
	actions     *prometheus.CounterVec
}

// NewMetrics creates the comment service's instruments and registers them
// with reg (nil: not registered). Registering twice with one registry
// reuses the instruments already there.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_comments_submitted_total",
			Help: "Comments submitted, by outcome: approved, held, spam, refused, rate_limited or error.",
		}, []string{"outcome"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidings_comments_moderated_total",
			Help: "Moderation actions that changed a comment, by action: approve, reject, spam, hold or delete.",
		}, []string{"action"}),
	}
	for _, o := range []string{outcomeApproved, outcomeHeld, outcomeSpam, outcomeRefused, outcomeRateLimited, outcomeError} {
		m.submissions.WithLabelValues(o)
	}
	for _, a := range []string{actionApprove, actionReject, actionSpam, actionHold, actionDelete} {
		m.actions.WithLabelValues(a)
	}
	if reg != nil {
		m.submissions = metrics.Register(reg, m.submissions)
		m.actions = metrics.Register(reg, m.actions)
	}
	return m
}

// submitted counts the outcome of one Submit.
func (m *Metrics) submitted(c Comment, err error) {
	if m == nil {
		return
	}
	var fe *FormError
	outcome := outcomeError
	switch {
	case errors.As(err, &fe):
		outcome = outcomeRefused
	case errors.Is(err, ErrRateLimited):
		outcome = outcomeRateLimited
	case err != nil:
	case c.Status == Approved:
		outcome = outcomeApproved
	case c.Status == Spam:
		outcome = outcomeSpam
	default:
		outcome = outcomeHeld
	}
	m.submissions.WithLabelValues(outcome).Inc()
}

// moderatedTo counts a moderator's move of a comment to status to.
func (m *Metrics) moderatedTo(to Status) {
	switch to {
	case Approved:
		m.moderated(actionApprove)
	case Rejected:
		m.moderated(actionReject)
	case Spam:
		m.moderated(actionSpam)
	case Pending:
		m.moderated(actionHold)
	}
}

// moderated counts one moderation action.
func (m *Metrics) moderated(action string) {
	if m == nil {
		return
	}
	m.actions.WithLabelValues(action).Inc()
}
