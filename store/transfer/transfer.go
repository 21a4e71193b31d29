// Package transfer moves a whole Tidings store into another one, of the same
// kind or not: Export writes it as JSON lines, Import reads them into an
// empty store. It is the path from the embedded SQLite default to Redis when
// a site outgrows one machine, and a backup format.
//
// # Format (version 1)
//
// UTF-8 text, one JSON object a line, each with a "kind". The first line is
// the header, the last the end record:
//
//	{"kind":"header","format":"tidings-export","version":1,"created_at":"…","key_check":"…"}
//	{"kind":"mark","name":"default-sources"}            one-time steps done (MarkOnce)
//	{"kind":"source","id":1,"url":"…",…}                 with their poll state
//	{"kind":"story","id":7,"source_id":1,…}              every story, visible or not,
//	                                                     with tags, cluster and Similar
//	{"kind":"subscriber","id":3,"index":"…","sealed":"…",…}
//	{"kind":"issue","week":"2026-W48",…}                 followed by its deliveries:
//	{"kind":"delivery","week":"2026-W48","subscriber_id":3,"state":"sent",…}
//	{"kind":"comment","id":5,"story_id":7,"parent_id":0,…}
//	{"kind":"admin_password","hash":"$argon2id$…"}       when one is set
//	{"kind":"counters","counters":{"stories":9,…}}       the highest IDs ever handed out
//	{"kind":"end","counts":{"story":120,…}}              how many records of each kind
//
// Times are RFC 3339 in UTC to the nanosecond, a zero time is left out;
// binary fields (sealed addresses) are base64. IDs are kept, so story URLs
// (/stories/ID/slug) and comment anchors (#comment-ID) stay valid, and the
// target's counters continue above the highest ID the source ever used.
//
// No address is in the file in plain text: subscribers and commenters keep
// their sealed (AES-256-GCM) address, blind index and consent record exactly
// as stored, so the target site must run with the same secret key
// (TIDINGS_SECRET_KEY or DATA/secret.key) as the one exported from. The
// header's key_check, a constant sealed with that key, lets Import refuse a
// target that has another key before it writes anything. The file does hold
// IP hashes, blind indexes and the admin password hash: keep it as private
// as the store itself. Left out: leases, admin sessions, failed logins and
// the tokens of recent calls, which only matter to running processes.
package transfer

import (
	"context"
	"fmt"
	"strings"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// Format and Version name the file format in the header line.
const (
	Format  = "tidings-export"
	Version = 1
)

// The kinds of records, in the order Export writes them.
const (
	KindHeader        = "header"
	KindMark          = "mark"
	KindSource        = "source"
	KindStory         = "story"
	KindSubscriber    = "subscriber"
	KindIssue         = "issue"
	KindDelivery      = "delivery"
	KindComment       = "comment"
	KindAdminPassword = "admin_password"
	KindCounters      = "counters"
	KindEnd           = "end"
)

// countedKinds are the kinds Counts counts, in the order they are shown.
var countedKinds = []string{KindMark, KindSource, KindStory, KindSubscriber, KindIssue, KindDelivery, KindComment, KindAdminPassword}

// counterNames are the ID counters every store reports and raises.
var counterNames = []string{"sources", "stories", "subscribers", "comments"}

// Dumper is what Export reads: the domain stores' own reads, and three that
// every store implements for this package alone.
type Dumper interface {
	Sources(ctx context.Context, f feeds.SourceFilter) ([]feeds.Source, error)
	Stories(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error)
	Subscribers(ctx context.Context, f newsletter.SubscriberFilter) ([]newsletter.Subscriber, error)
	Issues(ctx context.Context, f newsletter.IssueFilter) ([]newsletter.Issue, error)
	Comments(ctx context.Context, f comments.Filter) ([]comments.Comment, error)

	// EachDelivery calls fn with every delivery record of the week's
	// issue, a page at a time, until fn returns an error.
	EachDelivery(ctx context.Context, week string, fn func([]newsletter.Delivery) error) error
	// OnceMarks lists the names MarkOnce has recorded.
	OnceMarks(ctx context.Context) ([]string, error)
	// IDCounters reports, for "sources", "stories", "subscribers" and
	// "comments", the highest ID ever handed out (deleted records
	// included); a kind that never had one may be missing.
	IDCounters(ctx context.Context) (map[string]int64, error)
}

// Restorer is what Import writes to. Every Restore method stores records
// with the IDs they carry; a record whose ID (an issue's week, a delivery's
// week and subscriber) is stored already is kept as it is, so running an
// import again after it was cut short finishes it. A record whose ID is free
// but whose unique key (a source's URL, a story's dedupe key, a
// subscriber's blind index) belongs to another ID is an error. After each
// call, new records get IDs above those restored.
type Restorer interface {
	// IsEmpty reports whether the store holds no source, story,
	// subscriber, issue or comment.
	IsEmpty(ctx context.Context) (bool, error)
	MarkOnce(ctx context.Context, name string) (bool, error)
	RestoreSources(ctx context.Context, srcs []feeds.Source) error
	// RestoreStories stores stories with their tags, cluster links and
	// Similar lists, and indexes the visible ones for search.
	RestoreStories(ctx context.Context, sts []feeds.Story) error
	// RestoreSubscribers keeps sealed addresses, blind indexes and consent
	// records exactly as given.
	RestoreSubscribers(ctx context.Context, subs []newsletter.Subscriber) error
	// RestoreIssue stores an issue with its send state.
	RestoreIssue(ctx context.Context, is newsletter.Issue) error
	// RestoreDeliveries stores delivery records as given: state, attempts,
	// owner and times.
	RestoreDeliveries(ctx context.Context, ds []newsletter.Delivery) error
	RestoreComments(ctx context.Context, cs []comments.Comment) error
	// RaiseIDCounters makes the next ID of each named kind (the names of
	// Dumper.IDCounters) greater than the value given.
	RaiseIDCounters(ctx context.Context, counters map[string]int64) error
}

// adminPasswords is implemented by stores that keep the admin password
// (admin.Store); its hash travels when both ends keep one.
type adminPasswords interface {
	AdminPassword(ctx context.Context) (string, error)
	SetAdminPassword(ctx context.Context, hash string) error
}

// Counts counts records by kind (KindSource, KindStory, …).
type Counts map[string]int

// String lists the counts in the file's order, e.g. "3 sources, 120
// stories, 0 subscribers, …".
func (c Counts) String() string {
	parts := make([]string, 0, len(countedKinds))
	for _, k := range countedKinds {
		if k == KindAdminPassword || k == KindMark {
			continue
		}
		parts = append(parts, fmt.Sprintf("%d %s", c[k], plural(k, c[k])))
	}
	if c[KindAdminPassword] > 0 {
		parts = append(parts, "the admin password")
	}
	return strings.Join(parts, ", ")
}

// Total is the number of records counted.
func (c Counts) Total() int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}

func (c Counts) clone() Counts {
	out := make(Counts, len(c))
	for k, v := range c {
		out[k] = v
	}
	return out
}

func plural(kind string, n int) string {
	name := strings.ReplaceAll(kind, "_", " ")
	switch {
	case n == 1:
		return name
	case kind == KindStory:
		return "stories"
	case kind == KindDelivery:
		return "deliveries"
	}
	return name + "s"
}

// LineError is bad input: it names the line of the file (counted from 1).
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }
