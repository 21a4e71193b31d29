package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
)

// Every move between statuses is the store's to make (the state machine is
// the service's): each changes Status and ModeratedAt and nothing else, of
// that comment only.
func testSetStatus(t *testing.T, s comments.Store) {
	c := mustAddComment(t, s, newComment(1, 7))
	other := mustAddComment(t, s, newComment(2, 7))
	want := c
	moves := []comments.Status{comments.Approved, comments.Spam, comments.Rejected, comments.Pending, comments.Rejected,
		comments.Approved, comments.Pending, comments.Spam, comments.Approved, comments.Rejected, comments.Spam, comments.Pending}
	for i, to := range moves {
		at := base.Add(time.Duration(i+1)*time.Hour + time.Duration(i)).In(elsewhere)
		got := mustSetStatus(t, s, c.ID, want.Status, to, at)
		want.Status, want.ModeratedAt = to, at
		if d := diffComment(got, want); d != "" {
			t.Errorf("SetStatus → %s returned: %s", to, d)
		}
		checkComment(t, s, "after SetStatus → "+string(to), want)
	}
	checkComment(t, s, "the other comment", other)
}

// A change from a status the comment has left changes nothing and wraps
// ErrConflict, not ErrNotFound.
func testSetStatusConflict(t *testing.T, s comments.Store) {
	ctx := t.Context()
	c := mustAddComment(t, s, newComment(1, 7))
	expectConflict := func(from, to comments.Status, want comments.Comment) {
		t.Helper()
		got, err := s.SetStatus(ctx, c.ID, from, to, base.Add(time.Hour))
		if !errors.Is(err, comments.ErrConflict) || errors.Is(err, comments.ErrNotFound) {
			t.Errorf("SetStatus(%s → %s) of a %s comment: err = %v, want ErrConflict", from, to, want.Status, err)
		}
		if got.ID != 0 || got.Status != "" {
			t.Errorf("SetStatus returned %+v along with its error, want the zero Comment", got)
		}
		checkComment(t, s, "after a conflict", want)
	}
	expectConflict(comments.Approved, comments.Spam, c)
	expectConflict(comments.Rejected, comments.Pending, c)
	approved := mustSetStatus(t, s, c.ID, comments.Pending, comments.Approved, base.Add(time.Minute))
	expectConflict(comments.Pending, comments.Rejected, approved)
	expectConflict(comments.Pending, comments.Approved, approved)
}

// from == to succeeds and stamps ModeratedAt.
func testSetStatusSame(t *testing.T, s comments.Store) {
	c := mustAddComment(t, s, newComment(1, 7))
	at := base.Add(time.Hour + 1)
	got := mustSetStatus(t, s, c.ID, comments.Pending, comments.Pending, at)
	want := c
	want.ModeratedAt = at
	if d := diffComment(got, want); d != "" {
		t.Errorf("SetStatus(pending → pending): %s", d)
	}
	checkComment(t, s, "after pending → pending", want)
}

func testSetStatusBadInput(t *testing.T, s comments.Store) {
	c := mustAddComment(t, s, newComment(1, 7))
	for _, p := range []struct{ from, to comments.Status }{
		{"bogus", comments.Approved}, {comments.Pending, ""}, {comments.Pending, "Approved"}, {"", ""},
	} {
		got, err := s.SetStatus(t.Context(), c.ID, p.from, p.to, base)
		if err == nil {
			t.Errorf("SetStatus(%q → %q) succeeded: %+v", p.from, p.to, got)
			continue
		}
		if errors.Is(err, comments.ErrConflict) || errors.Is(err, comments.ErrNotFound) {
			t.Errorf("SetStatus(%q → %q): err = %v, want neither ErrConflict nor ErrNotFound", p.from, p.to, err)
		}
	}
	checkComment(t, s, "after refused status changes", c)
}

// Two moderators act on one pending comment at once, one approving, one
// rejecting: exactly one wins, the other gets ErrConflict, and the comment
// ends as the winner left it. Fifty rounds, each on a fresh comment.
func testSetStatusRace(t *testing.T, s comments.Store) {
	tos := [2]comments.Status{comments.Approved, comments.Rejected}
	type result struct {
		c   comments.Comment
		err error
	}
	wins := [2]int{}
	for round := range 50 {
		c := mustAddComment(t, s, newComment(round, 1))
		ats := [2]time.Time{base.Add(time.Duration(round)*time.Hour + 1), base.Add(time.Duration(round)*time.Hour + 2)}
		var res [2]result
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 2 {
			wg.Go(func() {
				<-start
				res[i].c, res[i].err = s.SetStatus(t.Context(), c.ID, comments.Pending, tos[i], ats[i])
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, r := range res {
			switch {
			case r.err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: both moderators changed the comment", round)
				}
				winner = i
			case !errors.Is(r.err, comments.ErrConflict):
				t.Fatalf("round %d: the %s moderator got %v, want nil or ErrConflict", round, tos[i], r.err)
			case r.c.ID != 0:
				t.Errorf("round %d: the losing moderator got a comment along with ErrConflict", round)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither moderator changed the comment: %v; %v", round, res[0].err, res[1].err)
		}
		wins[winner]++
		want := c
		want.Status, want.ModeratedAt = tos[winner], ats[winner]
		if d := diffComment(res[winner].c, want); d != "" {
			t.Errorf("round %d: the winner got: %s", round, d)
		}
		checkComment(t, s, "after the race", want)
	}
	t.Logf("approvals won %d rounds, rejections %d", wins[0], wins[1])
}

// SetNotify turns notifications on and off, again and again, and changes
// nothing else.
func testSetNotify(t *testing.T, s comments.Store) {
	ctx := t.Context()
	c := mustAddComment(t, s, newComment(1, 7))
	other := mustAddComment(t, s, newComment(2, 7))
	want := c
	for _, on := range []bool{true, true, false, false, true} {
		if err := s.SetNotify(ctx, c.ID, on); err != nil {
			t.Fatalf("SetNotify(%v): %v", on, err)
		}
		want.NotifyReplies = on
		checkComment(t, s, "after SetNotify", want)
	}
	checkComment(t, s, "the other comment", other)
}

// Status changes, notification switches and ForgetIPs running at once on
// the same comments each keep what the others wrote: none writes back a
// stale copy of the whole comment.
func testCommentChangesConcurrent(t *testing.T, s comments.Store) {
	const n = 10
	cs := addComments(t, s, 0, n, 2, comments.Pending)
	at := base.Add(24 * time.Hour)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, c := range cs {
		wg.Go(func() {
			<-start
			if _, err := s.SetStatus(t.Context(), c.ID, comments.Pending, comments.Approved, at); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			<-start
			if err := s.SetNotify(t.Context(), c.ID, true); err != nil {
				t.Error(err)
			}
		})
	}
	var forgot int
	wg.Go(func() {
		<-start
		var err error
		if forgot, err = s.ForgetIPs(t.Context(), at); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	if forgot != n {
		t.Errorf("ForgetIPs = %d, want %d", forgot, n)
	}
	for _, c := range cs {
		want := c
		want.Status, want.ModeratedAt, want.NotifyReplies, want.IPHash = comments.Approved, at, true, ""
		checkComment(t, s, "after concurrent changes", want)
	}
}

// A deleted comment is gone for every method; its replies stay, still
// naming it as their parent.
func testDeleteComment(t *testing.T, s comments.Store) {
	ctx := t.Context()
	parent := mustAddComment(t, s, newComment(1, 7))
	r := newComment(2, 7)
	r.ParentID, r.Depth = parent.ID, 2
	reply := mustAddComment(t, s, r)
	other := mustAddComment(t, s, newComment(3, 8))
	if err := s.DeleteComment(ctx, parent.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Comment(ctx, parent.ID); !errors.Is(err, comments.ErrNotFound) {
		t.Errorf("Comment(deleted): err = %v, want ErrNotFound", err)
	}
	if err := s.DeleteComment(ctx, parent.ID); !errors.Is(err, comments.ErrNotFound) {
		t.Errorf("DeleteComment(deleted): err = %v, want ErrNotFound", err)
	}
	if _, err := s.SetStatus(ctx, parent.ID, comments.Pending, comments.Approved, base); !errors.Is(err, comments.ErrNotFound) {
		t.Errorf("SetStatus(deleted): err = %v, want ErrNotFound", err)
	}
	if err := s.SetNotify(ctx, parent.ID, true); !errors.Is(err, comments.ErrNotFound) {
		t.Errorf("SetNotify(deleted): err = %v, want ErrNotFound", err)
	}
	checkComment(t, s, "the reply", reply)
	checkComment(t, s, "the other comment", other)
	if got := commentIDs(listComments(t, s, comments.Filter{})); !slices.Equal(got, []int64{reply.ID, other.ID}) {
		t.Errorf("Comments = %v, want %v", got, []int64{reply.ID, other.ID})
	}
	if got := listComments(t, s, comments.Filter{IDs: []int64{parent.ID}}); len(got) != 0 {
		t.Errorf("Comments(IDs: deleted) = %v, want none", commentIDs(got))
	}
	if got := listComments(t, s, comments.Filter{StoryID: 7, Statuses: []comments.Status{comments.Pending}}); len(got) != 1 {
		t.Errorf("Comments(story 7, pending) = %v, want the reply alone", commentIDs(got))
	}
}
