package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// TestNewsletter checks every promise of newsletter.Store. open must return a
// fresh, empty store each time it is called (one per subtest) and arrange for
// it to be closed when t ends. Subtests run in parallel.
//
// Besides what the interface's comments say, the suite pins these choices,
// so that every store behaves alike:
//   - Times come back in UTC, to the nanosecond; a zero time stays zero.
//   - AddSubscriber stamps a zero CreatedAt with the current time, and
//     refuses an empty Index or an invalid Status (AddSubscriber and
//     UpdateSubscriber) with an error, storing nothing.
//   - Subscriber IDs are never reused, even after DeleteSubscriber.
//   - CountSubscribers may leave out a status that has no subscriber.
//   - DeletePending erases only those created strictly before the instant.
//   - SaveIssue refuses an empty Week. Issues sort by Week, as text.
//   - PlanDeliveries returns ErrNotFound when the week has no issue; it does
//     not look the subscriber IDs up (a subscriber erased between listing and
//     planning leaves a delivery the sender skips).
//   - ClaimDeliveries with n <= 0 claims nothing; an empty owner is an error.
//     Claiming or counting a week with no deliveries gives none, no error.
//   - A lease ends at exactly now+lease: at that instant the delivery is
//     claimable again, by anyone.
//   - AddSubscribers and FinishDeliveries with an empty slice do nothing and
//     return no error; SubscribersByID returns an empty map.
//   - FinishDeliveries does not check who holds the claim; it refuses a
//     batch holding an invalid State, writing none of it.
//   - AcquireLease refuses an empty name or owner.
func TestNewsletter(t *testing.T, open func(t *testing.T) newsletter.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s newsletter.Store)
	}{
		{"AddSubscriber", testAddSubscriber},
		{"AddSubscriberDuplicate", testAddSubscriberDuplicate},
		{"AddSubscriberRace", testAddSubscriberRace},
		{"AddSubscriberBadInput", testAddSubscriberBadInput},
		{"AddSubscribers", testAddSubscribers},
		{"AddSubscribersDuplicates", testAddSubscribersDuplicates},
		{"AddSubscribersChunks", testAddSubscribersChunks},
		{"AddSubscribersRace", testAddSubscribersRace},
		{"AddSubscribersBadInput", testAddSubscribersBadInput},
		{"SubscribersByID", testSubscribersByID},
		{"SubscriberNotFound", testSubscriberNotFound},
		{"SubscriberRoundTrip", testSubscriberRoundTrip},
		{"UpdateSubscriberKeepsIndex", testUpdateSubscriberKeepsIndex},
		{"SubscribersPaging", testSubscribersPaging},
		{"SubscribersByStatus", testSubscribersByStatus},
		{"CountSubscribers", testCountSubscribers},
		{"DeleteSubscriber", testDeleteSubscriber},
		{"DeletePending", testDeletePending},
		{"SaveIssueRoundTrip", testSaveIssueRoundTrip},
		{"SaveIssueOncePerWeek", testSaveIssueOncePerWeek},
		{"SaveIssueRace", testSaveIssueRace},
		{"IssueNotFound", testIssueNotFound},
		{"IssuesOrderAndFilter", testIssuesOrder},
		{"UpdateIssueSend", testUpdateIssueSend},
		{"PlanDeliveries", testPlanDeliveries},
		{"PlanDeliveriesUnknownWeek", testPlanDeliveriesUnknownWeek},
		{"DeliveryLifecycle", testDeliveryLifecycle},
		{"ClaimOrderAndLimit", testClaimOrder},
		{"ClaimLeaseBoundary", testClaimLeaseBoundary},
		{"ClaimBadInput", testClaimBadInput},
		{"FinishDeliveriesBadInput", testFinishDeliveriesBadInput},
		{"FinishDeliveriesOutcomes", testFinishDeliveriesOutcomes},
		{"FinishDeliveriesAbsent", testFinishDeliveriesAbsent},
		{"FinishDeliveriesWeeks", testFinishDeliveriesWeeks},
		{"DeliveriesPerWeek", testDeliveriesPerWeek},
		{"ClaimRace", testClaimRace},
		{"FinishDeliveriesRace", testFinishDeliveriesRace},
		{"LeaseExclusive", testLeaseExclusive},
		{"LeaseExpiry", testLeaseExpiry},
		{"LeaseRenewal", testLeaseRenewal},
		{"LeaseRace", testLeaseRace},
		{"LeaseBadInput", testLeaseBadInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// newSubscriber is a plausible confirmed subscriber; n makes its Index unique.
// Its sealed address holds zero bytes, as ciphertext does.
func newSubscriber(n int) newsletter.Subscriber {
	return newsletter.Subscriber{
		Index:     fmt.Sprintf("%064x", 0xb11d0000+n),
		Sealed:    []byte{0, 1, 2, byte(n), 0, 0xff, byte(n >> 8), 0},
		Status:    newsletter.Confirmed,
		CreatedAt: base.Add(time.Duration(n) * time.Minute),
	}
}

func mustAddSubscriber(t *testing.T, s newsletter.Store, sub newsletter.Subscriber) newsletter.Subscriber {
	t.Helper()
	got, created, err := s.AddSubscriber(t.Context(), sub)
	if err != nil {
		t.Fatalf("AddSubscriber(%s): %v", sub.Index, err)
	}
	if !created {
		t.Fatalf("AddSubscriber(%s): created = false, want true", sub.Index)
	}
	if got.ID <= 0 {
		t.Fatalf("AddSubscriber(%s): ID = %d, want > 0", sub.Index, got.ID)
	}
	return got
}

// addSubscribers adds n subscribers made by newSubscriber(first…first+n-1).
func addSubscribers(t *testing.T, s newsletter.Store, first, n int) []newsletter.Subscriber {
	t.Helper()
	out := make([]newsletter.Subscriber, n)
	for i := range out {
		out[i] = mustAddSubscriber(t, s, newSubscriber(first+i))
	}
	return out
}

// newIssue is a small composed issue that has not been sent.
func newIssue(week string) newsletter.Issue {
	return newsletter.Issue{
		Week:       week,
		ComposedAt: base,
		Since:      base.Add(-7 * 24 * time.Hour),
		Until:      base,
		Subject:    "Tidings " + week,
		StoryIDs:   []int64{3, 1, 2},
		HTML:       "<p>Issue " + week + ` <a href="` + newsletter.UnsubscribePlaceholder + `">unsubscribe</a></p>`,
		Text:       "Issue " + week + "\nUnsubscribe: " + newsletter.UnsubscribePlaceholder + "\n",
	}
}

func mustSaveIssue(t *testing.T, s newsletter.Store, is newsletter.Issue) newsletter.Issue {
	t.Helper()
	got, created, err := s.SaveIssue(t.Context(), is)
	if err != nil {
		t.Fatalf("SaveIssue(%s): %v", is.Week, err)
	}
	if !created {
		t.Fatalf("SaveIssue(%s): created = false, want true", is.Week)
	}
	return got
}

// diffSubscriber describes how two subscribers differ, or returns "".
func diffSubscriber(got, want newsletter.Subscriber) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w)) }
	if got.ID != want.ID {
		add("ID", got.ID, want.ID)
	}
	if got.Index != want.Index {
		add("Index", got.Index, want.Index)
	}
	if !bytes.Equal(got.Sealed, want.Sealed) {
		add("Sealed", got.Sealed, want.Sealed)
	}
	if got.Status != want.Status {
		add("Status", got.Status, want.Status)
	}
	d = append(d, diffTime("CreatedAt", got.CreatedAt, want.CreatedAt)...)
	d = append(d, diffTime("ConfirmedAt", got.ConfirmedAt, want.ConfirmedAt)...)
	d = append(d, diffTime("UnsubscribedAt", got.UnsubscribedAt, want.UnsubscribedAt)...)
	d = append(d, diffTime("ConfirmMailAt", got.ConfirmMailAt, want.ConfirmMailAt)...)
	d = append(d, diffTime("ConsentAt", got.ConsentAt, want.ConsentAt)...)
	if got.ConsentPage != want.ConsentPage {
		add("ConsentPage", got.ConsentPage, want.ConsentPage)
	}
	if got.ConsentIP != want.ConsentIP {
		add("ConsentIP", got.ConsentIP, want.ConsentIP)
	}
	if got.HardFailures != want.HardFailures {
		add("HardFailures", got.HardFailures, want.HardFailures)
	}
	return strings.Join(d, "; ")
}

// diffIssue describes how two issues differ, or returns "". Long bodies are
// reported by length and first difference, not printed.
func diffIssue(got, want newsletter.Issue) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w)) }
	if got.Week != want.Week {
		add("Week", got.Week, want.Week)
	}
	d = append(d, diffTime("ComposedAt", got.ComposedAt, want.ComposedAt)...)
	d = append(d, diffTime("Since", got.Since, want.Since)...)
	d = append(d, diffTime("Until", got.Until, want.Until)...)
	if got.Subject != want.Subject {
		add("Subject", got.Subject, want.Subject)
	}
	if !slices.Equal(got.StoryIDs, want.StoryIDs) {
		add("StoryIDs", got.StoryIDs, want.StoryIDs)
	}
	for _, f := range []struct{ name, g, w string }{{"HTML", got.HTML, want.HTML}, {"Text", got.Text, want.Text}} {
		if f.g != f.w {
			d = append(d, fmt.Sprintf("%s differs: %d bytes, want %d; first difference at byte %d",
				f.name, len(f.g), len(f.w), firstDifference(f.g, f.w)))
		}
	}
	d = append(d, diffTime("SendStartedAt", got.SendStartedAt, want.SendStartedAt)...)
	if got.PlannedThrough != want.PlannedThrough {
		add("PlannedThrough", got.PlannedThrough, want.PlannedThrough)
	}
	if got.Planned != want.Planned {
		add("Planned", got.Planned, want.Planned)
	}
	d = append(d, diffTime("SentAt", got.SentAt, want.SentAt)...)
	return strings.Join(d, "; ")
}

func firstDifference(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// diffDelivery describes how two deliveries differ, or returns "".
func diffDelivery(got, want newsletter.Delivery) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w)) }
	if got.Week != want.Week {
		add("Week", got.Week, want.Week)
	}
	if got.SubscriberID != want.SubscriberID {
		add("SubscriberID", got.SubscriberID, want.SubscriberID)
	}
	if got.State != want.State {
		add("State", got.State, want.State)
	}
	if got.Attempts != want.Attempts {
		add("Attempts", got.Attempts, want.Attempts)
	}
	if got.LastError != want.LastError {
		add("LastError", got.LastError, want.LastError)
	}
	d = append(d, diffTime("NotBefore", got.NotBefore, want.NotBefore)...)
	if got.Owner != want.Owner {
		add("Owner", got.Owner, want.Owner)
	}
	d = append(d, diffTime("SentAt", got.SentAt, want.SentAt)...)
	return strings.Join(d, "; ")
}

// subscriberIDs lists the IDs of subscribers in order.
func subscriberIDs(subs []newsletter.Subscriber) []int64 {
	out := make([]int64, len(subs))
	for i, s := range subs {
		out[i] = s.ID
	}
	return out
}

// deliveryIDs lists the subscriber IDs of deliveries in order.
func deliveryIDs(ds []newsletter.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.SubscriberID
	}
	return out
}

// issueWeeks lists the weeks of issues in order.
func issueWeeks(is []newsletter.Issue) []string {
	out := make([]string, len(is))
	for i, x := range is {
		out[i] = x.Week
	}
	return out
}
