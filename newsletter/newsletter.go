// Package newsletter owns the subscribers (double opt-in, unsubscribe,
// erasure), the weekly issue made of the week's stories, and its resumable,
// lease-based delivery; and the storage contract every store implements for
// them.
//
// No store ever sees an address in plain text: a Subscriber carries its
// address sealed (AES-256-GCM, see package secrets) and a blind index (a keyed
// hash of the normalised address) for look-ups.
package newsletter

import (
	"context"
	"errors"
	"time"
)

// Errors every Store returns (wrapped) so callers can tell cases apart.
var (
	// ErrNotFound means no subscriber, issue or delivery has the given key.
	ErrNotFound = errors.New("newsletter: not found")
	// ErrBadToken means a confirmation or unsubscribe token is forged,
	// damaged or meant for something else.
	ErrBadToken = errors.New("newsletter: this link is not valid")
	// ErrTokenExpired means a confirmation token is older than 48 hours.
	ErrTokenExpired = errors.New("newsletter: this link has expired")
)

// AddressError says why an address given to subscribe was refused. Its
// message is written for the person who typed the address.
type AddressError struct {
	Reason string
}

func (e *AddressError) Error() string { return e.Reason }

// Status is where a subscriber stands.
type Status string

// The statuses a subscriber moves through.
const (
	// Pending: signed up, the confirmation link not yet used.
	Pending Status = "pending"
	// Confirmed: receives the digest.
	Confirmed Status = "confirmed"
	// Unsubscribed: asked to receive nothing more.
	Unsubscribed Status = "unsubscribed"
	// Bounced: the address failed hard too often; skipped by sends.
	Bounced Status = "bounced"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case Pending, Confirmed, Unsubscribed, Bounced:
		return true
	}
	return false
}

// Subscriber is one address that asked for the digest.
type Subscriber struct {
	ID int64
	// Index is the blind index of the normalised address (hex of a keyed
	// HMAC): unique among subscribers, the only way to find one by address.
	Index string
	// Sealed is the address, encrypted with AES-256-GCM.
	Sealed []byte
	Status Status

	CreatedAt      time.Time // UTC
	ConfirmedAt    time.Time // zero until confirmed
	UnsubscribedAt time.Time // zero unless unsubscribed
	// ConfirmMailAt is when the last confirmation mail was sent, so that a
	// pending address asking again gets at most one per ten minutes.
	ConfirmMailAt time.Time

	// The consent record, kept when the subscription is confirmed: when, from
	// which page the address was given, and a keyed hash of the client's IP
	// address at sign-up (never the address itself).
	ConsentAt   time.Time
	ConsentPage string
	ConsentIP   string

	// HardFailures counts permanent delivery failures (5xx) in a row; at three
	// the subscriber becomes Bounced.
	HardFailures int
}

// AddedSubscriber is one result of SubscriberStore.AddSubscribers.
type AddedSubscriber struct {
	// Subscriber is as stored: the one just created, or the one that already
	// held its Index.
	Subscriber Subscriber
	// Created is true when this element created Subscriber.
	Created bool
}

// SubscriberFilter selects subscribers. Results are in ascending ID order, so
// a caller streams every subscriber page by page with AfterID.
type SubscriberFilter struct {
	Status  Status // empty: any
	AfterID int64  // only IDs greater than this
	Limit   int    // 0: no limit
}

// Issue is one weekly digest: composed once, stored, then previewed, sent,
// resumed and shown in the web archive exactly as stored.
type Issue struct {
	// Week names the issue by the ISO week in which it was composed, e.g.
	// "2026-W48".
	Week       string
	ComposedAt time.Time // UTC
	// Since and Until bound the stories it covers: the 7 days before ComposedAt.
	Since, Until time.Time
	Subject      string
	StoryIDs     []int64 // in the order shown
	// HTML and Text are the rendered bodies. They hold the per-subscriber
	// parts as placeholders (see Placeholders), filled in for each message.
	HTML, Text string

	// Send state. SendStartedAt is zero until the first `digest send`; the
	// subscribers confirmed at that moment are the ones owed the issue.
	SendStartedAt time.Time
	// PlannedThrough is the highest subscriber ID for which a delivery has
	// been planned; Planned is set when every owed subscriber has one. A
	// resumed send continues planning after PlannedThrough.
	PlannedThrough int64
	Planned        bool
	// SentAt is set when no delivery is left pending.
	SentAt time.Time
}

// IssueFilter selects issues, newest (highest Week) first.
type IssueFilter struct {
	SentOnly bool // only issues whose send has started
	Limit    int  // 0: no limit
}

// DeliveryState is where one (issue, subscriber) delivery stands.
type DeliveryState string

// The states of a delivery.
const (
	// DeliveryPending: owed; claimable once NotBefore has passed.
	DeliveryPending DeliveryState = "pending"
	// DeliverySent: the SMTP server accepted the message (or it was written
	// to the outbox).
	DeliverySent DeliveryState = "sent"
	// DeliveryFailed: a permanent failure (5xx), or retries ran out.
	DeliveryFailed DeliveryState = "failed"
	// DeliverySkipped: not sent because the subscriber was no longer
	// confirmed when its turn came (unsubscribed, bounced, erased).
	DeliverySkipped DeliveryState = "skipped"
)

// Valid reports whether s is one of the four delivery states.
func (s DeliveryState) Valid() bool {
	switch s {
	case DeliveryPending, DeliverySent, DeliveryFailed, DeliverySkipped:
		return true
	}
	return false
}

// Delivery is the record of one issue owed to one subscriber.
type Delivery struct {
	Week         string
	SubscriberID int64
	State        DeliveryState
	Attempts     int    // SMTP attempts made so far
	LastError    string // empty unless the last attempt failed
	// NotBefore is when a pending delivery may be claimed: the end of the
	// current claim's lease, or of a retry's back-off. Zero: at once.
	NotBefore time.Time
	// Owner names the process holding the current claim (empty: none).
	Owner  string
	SentAt time.Time // zero unless sent
}

// DeliveryCounts counts an issue's deliveries by state.
type DeliveryCounts struct {
	Pending, Sent, Failed, Skipped int
}

// Total is the number of deliveries planned.
func (c DeliveryCounts) Total() int { return c.Pending + c.Sent + c.Failed + c.Skipped }

// SubscriberStore keeps subscribers.
type SubscriberStore interface {
	// AddSubscriber stores a new subscriber, setting its ID, unless one with
	// the same Index exists: then it returns that one and false. Atomic: two
	// concurrent calls with one Index create one subscriber.
	AddSubscriber(ctx context.Context, s Subscriber) (Subscriber, bool, error)
	// AddSubscribers is AddSubscriber for many, in as few writes as the
	// store allows (SQLite: one transaction; Redis: one script per chunk of
	// subscribers). It returns one result per element of subs, in order: the
	// stored subscriber (new, or the one already holding its Index) and
	// whether it was created. New subscribers get ascending IDs in slice
	// order. An element whose Index appeared earlier in subs gets the earlier
	// one's subscriber, with Created false. An element AddSubscriber would
	// refuse (empty Index, invalid Status) fails the call before anything is
	// stored. After another error some chunks may be stored; repeating the
	// call is safe (those come back with Created false).
	AddSubscribers(ctx context.Context, subs []Subscriber) ([]AddedSubscriber, error)
	// Subscriber returns one subscriber or ErrNotFound.
	Subscriber(ctx context.Context, id int64) (Subscriber, error)
	// SubscribersByID reads the subscribers with the given IDs in one query
	// (or one pipeline), keyed by ID. IDs with no subscriber are simply
	// missing from the map; repeated IDs are read once.
	SubscribersByID(ctx context.Context, ids []int64) (map[int64]Subscriber, error)
	// SubscriberByIndex returns the subscriber with that blind index or
	// ErrNotFound.
	SubscriberByIndex(ctx context.Context, index string) (Subscriber, error)
	// UpdateSubscriber overwrites a stored subscriber's fields (all but ID,
	// Index and CreatedAt). ErrNotFound if absent.
	UpdateSubscriber(ctx context.Context, s Subscriber) error
	// Subscribers lists subscribers matching f in ascending ID order.
	Subscribers(ctx context.Context, f SubscriberFilter) ([]Subscriber, error)
	// CountSubscribers counts subscribers by status.
	CountSubscribers(ctx context.Context) (map[Status]int, error)
	// DeleteSubscriber erases a subscriber and every delivery record of it.
	// ErrNotFound if absent.
	DeleteSubscriber(ctx context.Context, id int64) error
	// DeletePending erases the subscribers still Pending that were created
	// before t, and returns how many.
	DeletePending(ctx context.Context, before time.Time) (int, error)
}

// IssueStore keeps issues and their deliveries.
type IssueStore interface {
	// SaveIssue stores is unless an issue of the same Week exists; then it
	// returns the stored one and false. Atomic: two processes composing the
	// same week keep one issue.
	SaveIssue(ctx context.Context, is Issue) (Issue, bool, error)
	// Issue returns the issue of that week or ErrNotFound.
	Issue(ctx context.Context, week string) (Issue, error)
	// Issues lists issues matching f, newest first.
	Issues(ctx context.Context, f IssueFilter) ([]Issue, error)
	// UpdateIssueSend overwrites the send state of a stored issue
	// (SendStartedAt, PlannedThrough, Planned, SentAt); the composed content
	// never changes. ErrNotFound if absent.
	UpdateIssueSend(ctx context.Context, is Issue) error

	// PlanDeliveries adds a pending delivery of the week's issue for each
	// subscriber ID that has none yet (repeating it is harmless) and returns
	// how many it added.
	PlanDeliveries(ctx context.Context, week string, subscriberIDs []int64) (int, error)
	// ClaimDeliveries atomically claims up to n pending deliveries whose
	// NotBefore is not after now, in ascending subscriber ID order: it sets
	// their Owner and NotBefore = now+lease and returns them. Deliveries
	// claimed by another process stay invisible until their lease ends, so
	// several processes share a send without sending anything twice.
	ClaimDeliveries(ctx context.Context, week, owner string, n int, now time.Time, lease time.Duration) ([]Delivery, error)
	// FinishDeliveries records the outcomes of claimed deliveries: for each,
	// State, Attempts, LastError, SentAt and NotBefore are written, Owner
	// cleared. A delivery left Pending (a retry after a 4xx) becomes claimable
	// again at NotBefore. They are applied in order (a later one for the same
	// delivery wins), in one write per week: one SQLite transaction for all,
	// one Redis script per week. An invalid State anywhere fails the call
	// before anything is written.
	//
	// Absent deliveries (their subscriber was erased meanwhile) are not an
	// obstacle: every present one is written, and then the error wraps
	// ErrNotFound and names the absent ones. Any other error is returned
	// instead, without ErrNotFound, and means some or all were not written;
	// repeating the call is safe.
	FinishDeliveries(ctx context.Context, ds []Delivery) error
	// Delivery returns one delivery record or ErrNotFound.
	Delivery(ctx context.Context, week string, subscriberID int64) (Delivery, error)
	// CountDeliveries counts the week's deliveries by state.
	CountDeliveries(ctx context.Context, week string) (DeliveryCounts, error)
}

// LeaseStore hands out named leases, so that exactly one of several processes
// does a job (the weekly send, later feed polling).
type LeaseStore interface {
	// AcquireLease takes the lease name for owner until now+ttl, or extends it
	// if owner already holds it. It reports whether owner holds it now.
	AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if owner holds it; otherwise it does
	// nothing.
	ReleaseLease(ctx context.Context, name, owner string) error
}

// Store is everything the newsletter keeps.
type Store interface {
	SubscriberStore
	IssueStore
	LeaseStore
}

// UnsubscribePlaceholder stands in Issue.HTML and Issue.Text where each
// message carries its subscriber's own unsubscribe URL; it is replaced per
// message (and by a link to the subscribe form in the web archive). It is
// plain ASCII with no character HTML or quoted-printable would escape.
const UnsubscribePlaceholder = "TIDINGS-UNSUBSCRIBE-URL"
