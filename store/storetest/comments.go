package storetest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
)

// TestComments checks every promise of comments.Store. open must return a
// fresh, empty store each time it is called (one per subtest) and arrange for
// it to be closed when t ends. Subtests run in parallel.
//
// Besides what the interface's comments say, the suite pins these choices,
// so that every store behaves alike:
//   - Times come back in UTC, to the nanosecond; a zero time stays zero.
//     Strings and the sealed address come back byte for byte; a nil
//     EmailSealed comes back empty.
//   - AddComment stores every field as given but ID, which the store picks:
//     ascending in the order of adding, never reused, even after
//     DeleteComment. It stamps a zero CreatedAt with the current time. It
//     refuses, with an error and storing nothing, a StoryID <= 0, a negative
//     ParentID, a Depth outside 1…MaxDepth and an invalid Status. It does not
//     check that the story or the parent exists (another contract keeps them).
//   - Comments ANDs the filter's fields; IDs naming no comment are skipped
//     and a repeated ID yields its comment once; Limit <= 0 means no limit; an
//     invalid status in Statuses is an error.
//   - SetStatus refuses an invalid from or to with an error that is not
//     ErrConflict, changing nothing. from == to is allowed: it succeeds and
//     stamps ModeratedAt. A missing comment gives ErrNotFound, never
//     ErrConflict. SetStatus changes Status and ModeratedAt only, SetNotify
//     NotifyReplies only, ForgetIPs IPHash only. On any error the Comment
//     returned is the zero value.
//   - DeleteComment leaves the replies' ParentID pointing at the erased ID.
//   - CountApproved never has a key outside storyIDs; nil or empty storyIDs
//     give an empty map and no error; a repeated ID is counted once.
//   - HasApproved matches author and index byte for byte ("Ann" is not
//     "ann"); an empty emailIndex matches nothing.
//   - CountRecent counts the comments created at or after since (the instant
//     itself included), whatever their status; deleted ones are gone and not
//     counted; an empty ipHash counts nothing (erased hashes are empty).
//   - ForgetIPs erases the hashes of comments created strictly before t and
//     counts only the comments that still had one.
func TestComments(t *testing.T, open func(t *testing.T) comments.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s comments.Store)
	}{
		{"AddComment", testAddComment},
		{"AddCommentBadInput", testAddCommentBadInput},
		{"AddCommentRace", testAddCommentRace},
		{"CommentRoundTrip", testCommentRoundTrip},
		{"CommentIDsNeverReused", testCommentIDsNeverReused},
		{"CommentNotFound", testCommentNotFound},
		{"CommentsFilters", testCommentsFilters},
		{"CommentsEveryFilterCombination", testCommentsFilterCombinations},
		{"CommentsPaging", testCommentsPaging},
		{"CommentsBadFilter", testCommentsBadFilter},
		{"SetStatus", testSetStatus},
		{"SetStatusConflict", testSetStatusConflict},
		{"SetStatusSame", testSetStatusSame},
		{"SetStatusBadInput", testSetStatusBadInput},
		{"SetStatusRace", testSetStatusRace},
		{"SetNotify", testSetNotify},
		{"ConcurrentChangesKeepEachOther", testCommentChangesConcurrent},
		{"DeleteComment", testDeleteComment},
		{"CountApproved", testCountApproved},
		{"CountApprovedFollowsChanges", testCountApprovedFollows},
		{"HasApproved", testHasApproved},
		{"HasApprovedFollowsChanges", testHasApprovedFollows},
		{"CountRecent", testCountRecent},
		{"ForgetIPs", testForgetIPs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// newComment is a plausible top-level comment awaiting moderation; n makes
// its author, address and client unique. Its sealed address holds zero
// bytes, as ciphertext does.
func newComment(n int, storyID int64) comments.Comment {
	return comments.Comment{
		StoryID:     storyID,
		Depth:       1,
		Author:      fmt.Sprintf("Reader %d", n),
		Website:     fmt.Sprintf("https://reader%d.example/", n),
		Body:        fmt.Sprintf("Comment number %d.\n\nA second paragraph.", n),
		EmailIndex:  fmt.Sprintf("%064x", 0xc0de0000+n),
		EmailSealed: []byte{0, 1, 2, byte(n), 0, 0xff, byte(n >> 8), 0},
		Status:      comments.Pending,
		Reason:      "first comment",
		IPHash:      fmt.Sprintf("ip:%08x", n),
		CreatedAt:   base.Add(time.Duration(n) * time.Minute),
	}
}

func mustAddComment(t testing.TB, s comments.Store, c comments.Comment) comments.Comment {
	t.Helper()
	got, err := s.AddComment(t.Context(), c)
	if err != nil {
		t.Fatalf("AddComment(%q on story %d): %v", c.Author, c.StoryID, err)
	}
	if got.ID <= 0 {
		t.Fatalf("AddComment(%q on story %d): ID = %d, want > 0", c.Author, c.StoryID, got.ID)
	}
	return got
}

// addComments adds n comments made by newComment(first…first+n-1, storyID),
// each with the given status.
func addComments(t testing.TB, s comments.Store, first, n int, storyID int64, st comments.Status) []comments.Comment {
	t.Helper()
	out := make([]comments.Comment, n)
	for i := range out {
		c := newComment(first+i, storyID)
		c.Status = st
		out[i] = mustAddComment(t, s, c)
	}
	return out
}

// mustSetStatus moves a comment and returns it as changed.
func mustSetStatus(t *testing.T, s comments.Store, id int64, from, to comments.Status, at time.Time) comments.Comment {
	t.Helper()
	got, err := s.SetStatus(t.Context(), id, from, to, at)
	if err != nil {
		t.Fatalf("SetStatus(%d, %s → %s): %v", id, from, to, err)
	}
	return got
}

// checkComment reads want.ID and requires want.
func checkComment(t *testing.T, s comments.Store, what string, want comments.Comment) comments.Comment {
	t.Helper()
	got, err := s.Comment(t.Context(), want.ID)
	if err != nil {
		t.Fatalf("%s: Comment(%d): %v", what, want.ID, err)
	}
	if d := diffComment(got, want); d != "" {
		t.Errorf("%s: Comment(%d): %s", what, want.ID, d)
	}
	return got
}

// listComments calls Comments and fails the test on error.
func listComments(t *testing.T, s comments.Store, f comments.Filter) []comments.Comment {
	t.Helper()
	got, err := s.Comments(t.Context(), f)
	if err != nil {
		t.Fatalf("Comments(%+v): %v", f, err)
	}
	return got
}

// diffComment describes how two comments differ, or returns "". Long bodies
// are reported by length and first difference, not printed.
func diffComment(got, want comments.Comment) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s = %#v, want %#v", field, g, w)) }
	for _, f := range []struct {
		name string
		g, w int64
	}{
		{"ID", got.ID, want.ID}, {"StoryID", got.StoryID, want.StoryID},
		{"ParentID", got.ParentID, want.ParentID}, {"Depth", int64(got.Depth), int64(want.Depth)},
	} {
		if f.g != f.w {
			add(f.name, f.g, f.w)
		}
	}
	for _, f := range []struct{ name, g, w string }{
		{"Author", got.Author, want.Author}, {"Website", got.Website, want.Website},
		{"EmailIndex", got.EmailIndex, want.EmailIndex}, {"Status", string(got.Status), string(want.Status)},
		{"Reason", got.Reason, want.Reason}, {"IPHash", got.IPHash, want.IPHash},
	} {
		if f.g != f.w {
			add(f.name, f.g, f.w)
		}
	}
	if got.Body != want.Body {
		d = append(d, fmt.Sprintf("Body differs: %d bytes, want %d; first difference at byte %d",
			len(got.Body), len(want.Body), firstDifference(got.Body, want.Body)))
	}
	if !bytes.Equal(got.EmailSealed, want.EmailSealed) {
		add("EmailSealed", got.EmailSealed, want.EmailSealed)
	}
	if got.NotifyReplies != want.NotifyReplies {
		add("NotifyReplies", got.NotifyReplies, want.NotifyReplies)
	}
	d = append(d, diffTime("CreatedAt", got.CreatedAt, want.CreatedAt)...)
	d = append(d, diffTime("ModeratedAt", got.ModeratedAt, want.ModeratedAt)...)
	return strings.Join(d, "; ")
}

// commentIDs lists the IDs of comments in order.
func commentIDs(cs []comments.Comment) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
