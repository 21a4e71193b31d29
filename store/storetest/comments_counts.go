package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
)

// checkApproved requires CountApproved(ids) to give want[id] for each id
// (a missing entry counting as 0) and no entry for a story not asked about.
func checkApproved(t *testing.T, s comments.Store, what string, ids []int64, want map[int64]int) {
	t.Helper()
	got, err := s.CountApproved(t.Context(), ids)
	if err != nil {
		t.Fatalf("%s: CountApproved(%v): %v", what, ids, err)
	}
	asked := map[int64]bool{}
	for _, id := range ids {
		asked[id] = true
		if got[id] != want[id] {
			t.Errorf("%s: CountApproved(%v)[%d] = %d, want %d", what, ids, id, got[id], want[id])
		}
	}
	for id := range got {
		if !asked[id] {
			t.Errorf("%s: CountApproved(%v) has an entry for story %d, not asked about", what, ids, id)
		}
	}
}

func testCountApproved(t *testing.T, s comments.Store) {
	addComments(t, s, 0, 3, 1, comments.Approved)
	addComments(t, s, 10, 2, 1, comments.Pending)
	addComments(t, s, 20, 1, 1, comments.Spam)
	addComments(t, s, 30, 1, 1, comments.Rejected)
	addComments(t, s, 40, 1, 2, comments.Approved)
	addComments(t, s, 50, 2, 3, comments.Pending)
	addComments(t, s, 60, 4, 5, comments.Approved)
	want := map[int64]int{1: 3, 2: 1, 5: 4}
	checkApproved(t, s, "a mix", []int64{1, 2, 3, 4}, want)
	checkApproved(t, s, "repeated IDs", []int64{2, 1, 2, 1}, want)
	checkApproved(t, s, "one story", []int64{5}, want)
	checkApproved(t, s, "missing stories", []int64{3, 4, 99, 0, -1}, want)
	for _, ids := range [][]int64{nil, {}} {
		if got, err := s.CountApproved(t.Context(), ids); err != nil || len(got) != 0 {
			t.Errorf("CountApproved(%#v) = %v, %v; want an empty map", ids, got, err)
		}
	}
}

// The count follows every status change, failed or not, and deletes.
func testCountApprovedFollows(t *testing.T, s comments.Store) {
	ctx := t.Context()
	ids := []int64{1, 2}
	a := mustAddComment(t, s, newComment(1, 1))
	b := mustAddComment(t, s, newComment(2, 1))
	mustAddComment(t, s, newComment(3, 2))
	step := func(what string, n int) {
		t.Helper()
		checkApproved(t, s, what, ids, map[int64]int{1: n})
	}
	step("two pending", 0)
	mustSetStatus(t, s, a.ID, comments.Pending, comments.Approved, base)
	step("a approved", 1)
	mustSetStatus(t, s, b.ID, comments.Pending, comments.Approved, base)
	step("b approved", 2)
	mustSetStatus(t, s, a.ID, comments.Approved, comments.Approved, base)
	step("a approved again", 2)
	if _, err := s.SetStatus(ctx, b.ID, comments.Pending, comments.Spam, base); err == nil {
		t.Fatal("SetStatus from a status b had left succeeded")
	}
	step("a failed change of b", 2)
	mustSetStatus(t, s, b.ID, comments.Approved, comments.Spam, base)
	step("b spam", 1)
	mustSetStatus(t, s, b.ID, comments.Spam, comments.Approved, base)
	step("b approved after spam", 2)
	if err := s.DeleteComment(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	step("a deleted", 1)
	c := mustAddComment(t, s, newComment(4, 1))
	if err := s.DeleteComment(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	step("a pending one added and deleted", 1)
	d := newComment(5, 1)
	d.Status = comments.Approved
	d = mustAddComment(t, s, d)
	step("one added approved", 2)
	mustSetStatus(t, s, b.ID, comments.Approved, comments.Rejected, base)
	step("b rejected", 1)
	if err := s.SetNotify(ctx, d.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ForgetIPs(ctx, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	step("after SetNotify and ForgetIPs", 1)
}

// hasApproved calls HasApproved and requires want.
func hasApproved(t *testing.T, s comments.Store, index, author string, want bool) {
	t.Helper()
	got, err := s.HasApproved(t.Context(), index, author)
	if err != nil {
		t.Fatalf("HasApproved(%q, %q): %v", index, author, err)
	}
	if got != want {
		t.Errorf("HasApproved(%q, %q) = %v, want %v", index, author, got, want)
	}
}

// addBy adds a comment on story 1 by author with that email index.
func addBy(t *testing.T, s comments.Store, n int, index, author string, st comments.Status) comments.Comment {
	t.Helper()
	c := newComment(n, 1)
	c.EmailIndex, c.Author, c.Status = index, author, st
	return mustAddComment(t, s, c)
}

func testHasApproved(t *testing.T, s comments.Store) {
	const ann, bob, cat, dee, zoe = "index-ann", "index-bob", "index-cat", "index-dee", "index-zoe"
	addBy(t, s, 1, ann, "Ann", comments.Approved)
	addBy(t, s, 2, bob, "Bob", comments.Pending)
	addBy(t, s, 3, cat, "Cat", comments.Spam)
	addBy(t, s, 4, dee, "Dee", comments.Rejected)
	addBy(t, s, 5, "", "Eve", comments.Approved)
	addBy(t, s, 6, zoe, "Zoë", comments.Approved) // é as one code point
	for _, c := range []struct {
		index, author string
		want          bool
	}{
		{ann, "Ann", true},
		{ann, "ann", false}, {ann, "ANN", false}, {ann, "Ann ", false}, {ann, " Ann", false}, {ann, "An", false},
		{strings.ToUpper(ann), "Ann", false}, {ann + " ", "Ann", false}, {bob, "Ann", false},
		{ann, "Bob", false},
		{bob, "Bob", false}, {cat, "Cat", false}, {dee, "Dee", false}, // not approved
		{"", "Eve", false}, {"", "", false}, // an empty index matches nothing
		{zoe, "Zoë", true}, {zoe, "Zoe\u0308", false}, // the same name decomposed is another name
		{"index-%", "Ann", false}, {"index-ann", "A%", false}, {"index-ann", "A_n", false},
	} {
		hasApproved(t, s, c.index, c.author, c.want)
	}
}

// HasApproved follows status changes and deletes, and any approved comment
// of the pair will do.
func testHasApprovedFollows(t *testing.T, s comments.Store) {
	ctx := t.Context()
	const ann = "index-ann"
	first := addBy(t, s, 1, ann, "Ann", comments.Pending)
	hasApproved(t, s, ann, "Ann", false)
	mustSetStatus(t, s, first.ID, comments.Pending, comments.Approved, base)
	hasApproved(t, s, ann, "Ann", true)
	mustSetStatus(t, s, first.ID, comments.Approved, comments.Spam, base)
	hasApproved(t, s, ann, "Ann", false)
	mustSetStatus(t, s, first.ID, comments.Spam, comments.Approved, base)
	second := addBy(t, s, 2, ann, "Ann", comments.Approved)
	hasApproved(t, s, ann, "Ann", true)
	if err := s.DeleteComment(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	hasApproved(t, s, ann, "Ann", true)
	mustSetStatus(t, s, second.ID, comments.Approved, comments.Rejected, base)
	hasApproved(t, s, ann, "Ann", false)
	mustSetStatus(t, s, second.ID, comments.Rejected, comments.Approved, base)
	if err := s.DeleteComment(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
	hasApproved(t, s, ann, "Ann", false)
}

// countRecent calls CountRecent and requires want.
func countRecent(t *testing.T, s comments.Store, ipHash string, since time.Time, want int) {
	t.Helper()
	got, err := s.CountRecent(t.Context(), ipHash, since)
	if err != nil {
		t.Fatalf("CountRecent(%q, %v): %v", ipHash, since, err)
	}
	if got != want {
		t.Errorf("CountRecent(%q, %v) = %d, want %d", ipHash, since, got, want)
	}
}

// addFrom adds a comment from the client ipHash, created at the given time.
func addFrom(t *testing.T, s comments.Store, n int, ipHash string, at time.Time, st comments.Status) comments.Comment {
	t.Helper()
	c := newComment(n, int64(1+n%3))
	c.IPHash, c.CreatedAt, c.Status = ipHash, at, st
	return mustAddComment(t, s, c)
}

func testCountRecent(t *testing.T, s comments.Store) {
	const a, b = "ip:aaaa", "ip:bbbb"
	addFrom(t, s, 1, a, base, comments.Spam)
	second := addFrom(t, s, 2, a, base.Add(1), comments.Pending)
	addFrom(t, s, 3, a, base.Add(time.Minute).In(elsewhere), comments.Approved)
	addFrom(t, s, 4, a, base.Add(time.Hour), comments.Rejected)
	addFrom(t, s, 5, b, base.Add(time.Minute), comments.Pending)
	addFrom(t, s, 6, "", base.Add(time.Minute), comments.Pending)
	for _, c := range []struct {
		since time.Time
		want  int
	}{
		{time.Time{}, 4}, {base.Add(-1), 4}, {base, 4}, {base.In(elsewhere), 4}, {base.Add(1), 3},
		{base.Add(2), 2}, {base.Add(time.Minute), 2}, {base.Add(time.Hour), 1}, {base.Add(time.Hour + 1), 0},
	} {
		countRecent(t, s, a, c.since, c.want)
	}
	countRecent(t, s, b, base, 1)
	countRecent(t, s, "ip:AAAA", time.Time{}, 0)
	countRecent(t, s, "ip:", time.Time{}, 0)
	countRecent(t, s, "", time.Time{}, 0)
	mustSetStatus(t, s, second.ID, comments.Pending, comments.Spam, base.Add(2*time.Hour))
	countRecent(t, s, a, base, 4)
	if err := s.DeleteComment(t.Context(), second.ID); err != nil {
		t.Fatal(err)
	}
	countRecent(t, s, a, base, 3)
}

// ForgetIPs erases the hashes older than the instant, and nothing else.
func testForgetIPs(t *testing.T, s comments.Store) {
	ctx := t.Context()
	const ip, day = "ip:same", 24 * time.Hour
	cutoff := base.Add(-30 * day)
	old := []comments.Comment{
		addFrom(t, s, 1, ip, base.Add(-40*day), comments.Approved),
		addFrom(t, s, 2, ip, cutoff.Add(-1), comments.Spam),
	}
	kept := []comments.Comment{
		addFrom(t, s, 3, ip, cutoff, comments.Pending),
		addFrom(t, s, 4, ip, base.Add(-29*day), comments.Rejected),
		addFrom(t, s, 5, "ip:other", base, comments.Approved),
	}
	noIP := addFrom(t, s, 6, "", base.Add(-40*day), comments.Approved)
	countRecent(t, s, ip, time.Time{}, 4)

	n, err := s.ForgetIPs(ctx, cutoff.In(elsewhere))
	if err != nil {
		t.Fatal(err)
	}
	if n != len(old) {
		t.Errorf("ForgetIPs = %d, want %d", n, len(old))
	}
	for _, c := range old {
		c.IPHash = ""
		checkComment(t, s, "a forgotten comment", c)
	}
	for _, c := range append(kept, noIP) {
		checkComment(t, s, "a kept comment", c)
	}
	countRecent(t, s, ip, time.Time{}, 2)
	countRecent(t, s, "", time.Time{}, 0)
	listed := listComments(t, s, comments.Filter{IDs: commentIDs(old)})
	for _, c := range listed {
		if c.IPHash != "" {
			t.Errorf("Comments: comment %d still has IPHash %q", c.ID, c.IPHash)
		}
	}
	if n, err := s.ForgetIPs(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("ForgetIPs again = %d, %v; want 0", n, err)
	}
	if n, err := s.ForgetIPs(ctx, base.Add(day)); err != nil || n != len(kept) {
		t.Errorf("ForgetIPs(later) = %d, %v; want %d", n, err, len(kept))
	}
	countRecent(t, s, ip, time.Time{}, 0)
	countRecent(t, s, "ip:other", time.Time{}, 0)
}
