package storetest

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings/comments"
)

// AddComment returns the comment with its ID set and every field as given,
// and a zero CreatedAt becomes the current time.
func testAddComment(t *testing.T, s comments.Store) {
	in := newComment(1, 7)
	in.ID = 999 // ignored: the store picks the ID
	in.CreatedAt = time.Time{}
	before := time.Now()
	a := mustAddComment(t, s, in)
	after := time.Now()
	if a.CreatedAt.Before(before.Add(-time.Second)) || a.CreatedAt.After(after.Add(time.Second)) {
		t.Errorf("CreatedAt = %v, want about %v", a.CreatedAt, before)
	}
	want := in
	want.ID, want.CreatedAt = a.ID, a.CreatedAt
	if d := diffComment(a, want); d != "" {
		t.Errorf("AddComment returned: %s", d)
	}
	checkComment(t, s, "after AddComment", want)
	b := mustAddComment(t, s, newComment(2, 7))
	if b.ID <= a.ID {
		t.Errorf("IDs %d then %d, want ascending", a.ID, b.ID)
	}
}

func testAddCommentBadInput(t *testing.T, s comments.Store) {
	bad := map[string]func(c *comments.Comment){
		"StoryID 0":            func(c *comments.Comment) { c.StoryID = 0 },
		"StoryID -1":           func(c *comments.Comment) { c.StoryID = -1 },
		"ParentID -1":          func(c *comments.Comment) { c.ParentID = -1 },
		"Depth 0":              func(c *comments.Comment) { c.Depth = 0 },
		"Depth MaxDepth+1":     func(c *comments.Comment) { c.Depth = comments.MaxDepth + 1 },
		"empty Status":         func(c *comments.Comment) { c.Status = "" },
		"Status \"published\"": func(c *comments.Comment) { c.Status = "published" },
		"Status \"Approved\"":  func(c *comments.Comment) { c.Status = "Approved" },
		"Status with a space":  func(c *comments.Comment) { c.Status = "approved " },
		"Status with a NUL":    func(c *comments.Comment) { c.Status = "approved\x00" },
		"negative depth":       func(c *comments.Comment) { c.Depth = -1 },
	}
	for name, spoil := range bad {
		c := newComment(1, 7)
		spoil(&c)
		if got, err := s.AddComment(t.Context(), c); err == nil {
			t.Errorf("AddComment with %s succeeded: ID %d", name, got.ID)
		}
	}
	if all := listComments(t, s, comments.Filter{}); len(all) != 0 {
		t.Errorf("after refused adds, Comments = %v; want none", commentIDs(all))
	}
	// The limits themselves are fine.
	deep := newComment(2, 7)
	deep.Depth, deep.ParentID = comments.MaxDepth, 1
	mustAddComment(t, s, deep)
}

// Sixteen concurrent submissions get sixteen distinct IDs, and all are stored.
func testAddCommentRace(t *testing.T, s comments.Store) {
	const racers = 16
	got := make([]comments.Comment, racers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			c, err := s.AddComment(t.Context(), newComment(i, 3))
			if err != nil {
				t.Error(err)
			}
			got[i] = c
		})
	}
	close(start)
	wg.Wait()
	ids := commentIDs(got)
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != racers || ids[0] <= 0 {
		t.Fatalf("IDs = %v, want %d distinct positive ones", ids, racers)
	}
	all := listComments(t, s, comments.Filter{StoryID: 3})
	if !slices.Equal(commentIDs(all), ids) {
		t.Errorf("Comments = %v, want %v", commentIDs(all), ids)
	}
	for _, c := range all {
		i := slices.Index(commentIDs(got), c.ID)
		if d := diffComment(c, got[i]); d != "" {
			t.Errorf("comment %d: %s", c.ID, d)
		}
	}
}

// longBody is n characters (runes) of text a store might mangle: multi-byte
// and combining characters, an emoji, right-to-left text, quotes, SQL and
// pattern characters, CR LF and tabs.
func longBody(n int) string {
	const pieces = "Zoë’s “reply” — 中文 🔒 e\u0301 \u202eRTL\u202c 'x'; DROP TABLE comments;-- 100% _a_ \\n\r\n\t[*]{$1}<b>&amp;\n\n"
	var b strings.Builder
	for i := 0; b.Len() < n*4; i++ {
		b.WriteString(pieces)
	}
	r := []rune(b.String())[:n]
	return string(r)
}

// Every field survives a write and a read exactly, through Comment and
// Comments: times to the nanosecond and in UTC, a 5,000-character body, the
// sealed bytes including zero bytes; and empty values come back empty.
func testCommentRoundTrip(t *testing.T, s comments.Store) {
	body := longBody(5000)
	if n := utf8.RuneCountInString(body); n != 5000 {
		t.Fatalf("test body has %d characters", n)
	}
	full := comments.Comment{
		StoryID:       9_007_199_254_740_993, // beyond float64's exact integers
		ParentID:      41,
		Depth:         comments.MaxDepth,
		Author:        "Zoë O’Brien 名前 🔒 " + strings.Repeat("e\u0301", 40),
		Website:       "https://reader.example/päth?q=1&r=%20#frag",
		Body:          body,
		EmailIndex:    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		EmailSealed:   []byte{0, 0, 0x7f, 0x80, 0xff, 0, '\n', '"', '\'', 0},
		Status:        comments.Spam,
		Reason:        "2 links",
		IPHash:        "ip:7b5e2f0c1a9d",
		NotifyReplies: true,
		CreatedAt:     base.Add(-3 * time.Hour).In(elsewhere),
		ModeratedAt:   base.Add(1).In(elsewhere),
	}
	empty := comments.Comment{
		StoryID:   1,
		Depth:     1,
		Status:    comments.Approved,
		CreatedAt: base.Add(999), // nanoseconds only
	}
	for _, in := range []comments.Comment{full, empty} {
		a := mustAddComment(t, s, in)
		want := in
		want.ID = a.ID
		if d := diffComment(a, want); d != "" {
			t.Errorf("AddComment returned: %s", d)
		}
		got := checkComment(t, s, "after AddComment", want)
		if in.ModeratedAt.IsZero() && !got.ModeratedAt.IsZero() {
			t.Errorf("a zero ModeratedAt came back as %v", got.ModeratedAt)
		}
		if len(got.EmailSealed) != len(in.EmailSealed) {
			t.Errorf("EmailSealed has %d bytes, want %d", len(got.EmailSealed), len(in.EmailSealed))
		}
		listed := listComments(t, s, comments.Filter{IDs: []int64{a.ID}})
		if len(listed) != 1 {
			t.Fatalf("Comments(IDs: %d) = %v, want it", a.ID, commentIDs(listed))
		}
		if d := diffComment(listed[0], want); d != "" {
			t.Errorf("Comments: %s", d)
		}
	}
}

// IDs ascend in the order of adding and are never handed out again, not
// even the highest one after it is deleted.
func testCommentIDsNeverReused(t *testing.T, s comments.Store) {
	ctx := t.Context()
	seen := map[int64]bool{}
	var last int64
	for round := range 3 {
		cs := addComments(t, s, round*10, 3, 5, comments.Pending)
		for _, c := range cs {
			if seen[c.ID] {
				t.Fatalf("round %d: ID %d handed out twice", round, c.ID)
			}
			if c.ID <= last {
				t.Errorf("round %d: ID %d after %d, want ascending", round, c.ID, last)
			}
			seen[c.ID], last = true, c.ID
		}
		for _, c := range cs {
			if err := s.DeleteComment(ctx, c.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func testCommentNotFound(t *testing.T, s comments.Store) {
	ctx := t.Context()
	for _, id := range []int64{4242, 0, -1} {
		if c, err := s.Comment(ctx, id); !errors.Is(err, comments.ErrNotFound) {
			t.Errorf("Comment(%d) = %+v, %v; want ErrNotFound", id, c, err)
		}
		if c, err := s.SetStatus(ctx, id, comments.Pending, comments.Approved, base); !errors.Is(err, comments.ErrNotFound) || errors.Is(err, comments.ErrConflict) {
			t.Errorf("SetStatus(%d) = %+v, %v; want ErrNotFound alone", id, c, err)
		} else if c.ID != 0 {
			t.Errorf("SetStatus(%d) returned a comment with ID %d along with its error", id, c.ID)
		}
		if err := s.SetNotify(ctx, id, true); !errors.Is(err, comments.ErrNotFound) {
			t.Errorf("SetNotify(%d): err = %v, want ErrNotFound", id, err)
		}
		if err := s.DeleteComment(ctx, id); !errors.Is(err, comments.ErrNotFound) {
			t.Errorf("DeleteComment(%d): err = %v, want ErrNotFound", id, err)
		}
	}
	// An empty store lists and counts nothing, without error.
	if all := listComments(t, s, comments.Filter{}); len(all) != 0 {
		t.Errorf("Comments on an empty store = %v", commentIDs(all))
	}
	if m, err := s.CountApproved(ctx, []int64{1, 2}); err != nil || m[1] != 0 || m[2] != 0 {
		t.Errorf("CountApproved on an empty store = %v, %v", m, err)
	}
	if ok, err := s.HasApproved(ctx, "index", "Ann"); err != nil || ok {
		t.Errorf("HasApproved on an empty store = %v, %v", ok, err)
	}
	if n, err := s.CountRecent(ctx, "ip:1", time.Time{}); err != nil || n != 0 {
		t.Errorf("CountRecent on an empty store = %d, %v", n, err)
	}
	if n, err := s.ForgetIPs(ctx, base); err != nil || n != 0 {
		t.Errorf("ForgetIPs on an empty store = %d, %v", n, err)
	}
	// The failed calls created nothing.
	if _, err := s.Comment(ctx, 4242); !errors.Is(err, comments.ErrNotFound) {
		t.Errorf("after the failed calls, Comment(4242): err = %v, want ErrNotFound", err)
	}
}
