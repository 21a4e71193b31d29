package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
)

// BenchmarkCommentsSubmit measures the store's share of one comment
// submission. s must be empty; it is first given 2,000 comments on 100
// stories by 300 commenters from 200 clients, every other one approved, and
// each submission adds one more.
//
//   - submit: what the service asks of the store for one submission: the
//     rate limit (CountRecent over the last ten minutes), the returning
//     commenter check (HasApproved), then AddComment, approved or held by
//     the answer.
//   - count-recent, has-approved, add: each of the three alone.
func BenchmarkCommentsSubmit(b *testing.B, s comments.Store) {
	const stories, commenters, clients, fill = 100, 300, 200, 2000
	submitted := 0
	// next makes the n-th comment of the benchmark, one second after the
	// one before.
	next := func() comments.Comment {
		n := submitted
		submitted++
		c := newComment(n, int64(1+n%stories))
		who := n % commenters
		c.Author, c.EmailIndex = fmt.Sprintf("Reader %d", who), fmt.Sprintf("%064x", who)
		c.IPHash = fmt.Sprintf("ip:%08x", n%clients)
		c.CreatedAt = base.Add(time.Duration(n) * time.Second)
		if n%2 == 0 {
			c.Status, c.Reason = comments.Approved, ""
		}
		return c
	}
	for range fill {
		mustAddComment(b, s, next())
	}

	b.Run("submit", func(b *testing.B) {
		for b.Loop() {
			c := next()
			if _, err := s.CountRecent(b.Context(), c.IPHash, c.CreatedAt.Add(-10*time.Minute)); err != nil {
				b.Fatal(err)
			}
			known, err := s.HasApproved(b.Context(), c.EmailIndex, c.Author)
			if err != nil {
				b.Fatal(err)
			}
			c.Status = comments.Pending
			if known {
				c.Status = comments.Approved
			}
			if _, err := s.AddComment(b.Context(), c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("count-recent", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			ip := fmt.Sprintf("ip:%08x", n%clients)
			if got, err := s.CountRecent(b.Context(), ip, base.Add(time.Duration(fill-600)*time.Second)); err != nil || got == 0 {
				b.Fatalf("CountRecent(%s) = %d, %v; want some", ip, got, err)
			}
		}
	})
	b.Run("has-approved", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n++
			who := (2 * n) % commenters // even: has approved comments
			ok, err := s.HasApproved(b.Context(), fmt.Sprintf("%064x", who), fmt.Sprintf("Reader %d", who))
			if err != nil || !ok {
				b.Fatalf("HasApproved(Reader %d) = %v, %v; want true", who, ok, err)
			}
		}
	})
	b.Run("add", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.AddComment(b.Context(), next()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
