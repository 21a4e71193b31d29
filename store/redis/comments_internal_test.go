package redis

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/store/redistest"
)

// onServerAndCluster runs fn against a fresh store on the server and on the
// cluster.
func onServerAndCluster(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("Server", func(t *testing.T) { fn(t, openInternal(t, redistest.Server(t))) })
	t.Run("Cluster", func(t *testing.T) { fn(t, openInternal(t, redistest.Cluster(t))) })
}

var commentTime = time.Date(2026, 3, 2, 9, 30, 0, 123456789, time.UTC)

// A resent AddComment (same token: the first reply was lost) returns the
// first call's ID and stores the comment once.
func TestAddCommentResent(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		c := comments.Comment{StoryID: 3, Depth: 1, Author: "Ann", EmailIndex: "ix", Status: comments.Approved,
			IPHash: "ip:1", CreatedAt: commentTime}
		first, err := s.addComment(ctx, c, "token-1")
		if err != nil {
			t.Fatal(err)
		}
		again, err := s.addComment(ctx, c, "token-1")
		if err != nil {
			t.Fatal(err)
		}
		if again.ID != first.ID {
			t.Errorf("resent call got ID %d, the first %d", again.ID, first.ID)
		}
		all, err := s.Comments(ctx, comments.Filter{})
		if err != nil || len(all) != 1 {
			t.Fatalf("Comments = %d comments, %v; want 1", len(all), err)
		}
		if n, err := s.CountRecent(ctx, "ip:1", time.Time{}); err != nil || n != 1 {
			t.Errorf("CountRecent = %d, %v; want 1", n, err)
		}
		if n, err := s.c.HGet(ctx, s.k.commentReturning(), returningField("ix", "Ann")).Int(); err != nil || n != 1 {
			t.Errorf("returning count = %d, %v; want 1", n, err)
		}
		if ttl, err := s.c.TTL(ctx, s.k.commentAddToken("token-1")).Result(); err != nil || ttl <= 0 || ttl > addTokenTTL {
			t.Errorf("token TTL = %v, %v; want within %v", ttl, err, addTokenTTL)
		}
		other, err := s.addComment(ctx, c, "token-2")
		if err != nil || other.ID <= first.ID {
			t.Errorf("another token got ID %d, %v; want a new one above %d", other.ID, err, first.ID)
		}
	})
}

// After a long run of random adds, status changes, deletes and ForgetIPs,
// every index key holds exactly what the comments call for, and no key is
// left over; once all comments are deleted only the counter remains.
func TestCommentIndexesMatchComments(t *testing.T) {
	onServerAndCluster(t, func(t *testing.T, s *Store) {
		ctx := t.Context()
		rnd := rand.New(rand.NewPCG(1, 2))
		authors := []string{"Ann", "ann", "Bob"}
		indexes := []string{"ix-1", "ix-2", ""}
		ips := []string{"ip:a", "ip:{b}", ""}
		model := map[int64]comments.Comment{}
		add := func(n int) {
			c := comments.Comment{
				StoryID: int64(1 + rnd.IntN(3)), Depth: 1,
				Author: authors[rnd.IntN(3)], EmailIndex: indexes[rnd.IntN(3)], IPHash: ips[rnd.IntN(3)],
				Status:    commentStatuses[rnd.IntN(4)],
				CreatedAt: commentTime.Add(time.Duration(n) * time.Minute),
			}
			got, err := s.AddComment(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			model[got.ID] = got
		}
		for n := range 30 {
			add(n)
		}
		for step := range 200 {
			ids := slices.Sorted(maps.Keys(model))
			switch k := rnd.IntN(10); {
			case k < 5 && len(ids) > 0:
				c := model[ids[rnd.IntN(len(ids))]]
				to := commentStatuses[rnd.IntN(4)]
				got, err := s.SetStatus(ctx, c.ID, c.Status, to, commentTime.Add(time.Duration(step)))
				if err != nil {
					t.Fatal(err)
				}
				model[c.ID] = got
			case k < 7 && len(ids) > 0:
				id := ids[rnd.IntN(len(ids))]
				if err := s.DeleteComment(ctx, id); err != nil {
					t.Fatal(err)
				}
				delete(model, id)
			case k < 8:
				cut := commentTime.Add(time.Duration(rnd.IntN(60)) * time.Minute)
				if _, err := s.ForgetIPs(ctx, cut); err != nil {
					t.Fatal(err)
				}
				for id, c := range model {
					if c.CreatedAt.Before(cut) {
						c.IPHash = ""
						model[id] = c
					}
				}
			default:
				add(30 + step)
			}
		}
		checkCommentKeys(t, s, model)
		for id, want := range model {
			got, err := s.Comment(ctx, id)
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("Comment(%d) = %+v, %v; want %+v", id, got, err, want)
			}
		}
		for id := range model {
			if err := s.DeleteComment(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		checkCommentKeys(t, s, nil)
	})
}

// checkCommentKeys compares the {comments} keys with what model calls for.
func checkCommentKeys(t *testing.T, s *Store, model map[int64]comments.Comment) {
	t.Helper()
	ctx := t.Context()
	sets := map[string][]string{} // ZSET key → members
	returning := map[string]string{}
	hashes := map[string]bool{}
	for id, c := range model {
		sid := strconv.FormatInt(id, 10)
		hashes[s.k.comment(id)] = true
		sets[s.k.commentStatus(string(c.Status))] = append(sets[s.k.commentStatus(string(c.Status))], sid)
		story := s.k.commentStory(c.StoryID, string(c.Status))
		sets[story] = append(sets[story], sid)
		if c.IPHash != "" {
			m := member(c.CreatedAt, id)
			sets[s.k.commentIP(c.IPHash)] = append(sets[s.k.commentIP(c.IPHash)], m)
			sets[s.k.commentWithIP()] = append(sets[s.k.commentWithIP()], m)
		}
		if c.Status == comments.Approved && c.EmailIndex != "" {
			f := returningField(c.EmailIndex, c.Author)
			n, _ := strconv.Atoi(returning[f])
			returning[f] = strconv.Itoa(n + 1)
		}
	}
	for key, want := range sets {
		got, err := s.c.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	got, err := s.c.HGetAll(ctx, s.k.commentReturning()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, returning) {
		t.Errorf("returning = %q, want %q", got, returning)
	}
	for _, key := range scanKeys(t, s, s.k.commentPrefix()+"*") {
		switch {
		case sets[key] != nil, hashes[key], key == s.k.commentNextID(),
			key == s.k.commentReturning() && len(returning) > 0,
			strings.HasPrefix(key, s.k.commentAddToken("")):
		default:
			t.Errorf("key %q is left over", key)
		}
	}
}

// scanKeys lists the keys matching pattern on the server or on every
// master of the cluster.
func scanKeys(t *testing.T, s *Store, pattern string) []string {
	t.Helper()
	var mu sync.Mutex
	var out []string
	scan := func(ctx context.Context, c goredis.UniversalClient) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			out = append(out, iter.Val())
			mu.Unlock()
		}
		return iter.Err()
	}
	var err error
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(t.Context(), func(ctx context.Context, c *goredis.Client) error { return scan(ctx, c) })
	} else {
		err = scan(t.Context(), s.c)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ForgetIPs walks more comments than one script call takes.
func TestForgetIPsChunks(t *testing.T) {
	s := openInternal(t, redistest.Server(t))
	ctx := t.Context()
	const n = forgetChunk + 5
	for i := range n {
		c := comments.Comment{StoryID: 1, Depth: 1, Status: comments.Pending, IPHash: fmt.Sprintf("ip:%d", i%7),
			CreatedAt: commentTime.Add(time.Duration(i))}
		if _, err := s.AddComment(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.ForgetIPs(ctx, commentTime.Add(n)); err != nil || got != n {
		t.Errorf("ForgetIPs = %d, %v; want %d", got, err, n)
	}
	if got, err := s.c.Exists(ctx, s.k.commentWithIP(), s.k.commentIP("ip:0")).Result(); err != nil || got != 0 {
		t.Errorf("%d IP index keys left, %v; want none", got, err)
	}
}

// Times a fixed-width text cannot hold are refused, and bounds beyond them
// count everything or nothing.
func TestCommentTimesOutOfRange(t *testing.T) {
	s := openInternal(t, redistest.Server(t))
	ctx := t.Context()
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	early := time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)
	c := comments.Comment{StoryID: 1, Depth: 1, Status: comments.Pending, IPHash: "ip:x", CreatedAt: commentTime}
	for _, at := range []time.Time{far, early} {
		bad := c
		bad.CreatedAt = at
		if _, err := s.AddComment(ctx, bad); err == nil {
			t.Errorf("AddComment created at %v succeeded", at)
		}
	}
	c, err := s.AddComment(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, c.ID, comments.Pending, comments.Approved, far); err == nil {
		t.Error("SetStatus at year 10000 succeeded")
	}
	for _, tc := range []struct {
		since time.Time
		want  int
	}{{early, 1}, {far, 0}} {
		if n, err := s.CountRecent(ctx, "ip:x", tc.since); err != nil || n != tc.want {
			t.Errorf("CountRecent(since %v) = %d, %v; want %d", tc.since, n, err, tc.want)
		}
	}
	if n, err := s.ForgetIPs(ctx, early); err != nil || n != 0 {
		t.Errorf("ForgetIPs(%v) = %d, %v; want 0", early, n, err)
	}
	if n, err := s.ForgetIPs(ctx, far); err != nil || n != 1 {
		t.Errorf("ForgetIPs(%v) = %d, %v; want 1", far, n, err)
	}
}

// A limit beyond any number of comments lists them all, on every path.
func TestCommentsHugeLimit(t *testing.T) {
	s := openInternal(t, redistest.Server(t))
	var ids []int64
	for i := range 3 {
		c, err := s.AddComment(t.Context(), comments.Comment{StoryID: 1, Depth: 1,
			Status: commentStatuses[i], CreatedAt: commentTime})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	for _, f := range []comments.Filter{
		{Limit: math.MaxInt}, {StoryID: 1, Limit: math.MaxInt},
		{Statuses: []comments.Status{comments.Approved}, Limit: math.MaxInt64},
		{IDs: ids, Limit: math.MaxInt},
	} {
		want := 3
		if len(f.Statuses) == 1 {
			want = 1
		}
		if got, err := s.Comments(t.Context(), f); err != nil || len(got) != want {
			t.Errorf("Comments(%+v) = %d comments, %v; want %d", f, len(got), err, want)
		}
	}
}
