package redis

import (
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/redistest"
)

func openInternal(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func searchTotal(t *testing.T, s *Store, q string) int {
	t.Helper()
	res, err := s.Search(t.Context(), feeds.SearchQuery{Text: q, Limit: feeds.MaxSearchLimit})
	if err != nil {
		t.Fatalf("Search(%q): %v", q, err)
	}
	if len(res.Stories) != res.Total {
		t.Fatalf("Search(%q): %d stories of %d", q, len(res.Stories), res.Total)
	}
	return res.Total
}

func zebraStory(n int) feeds.Story {
	at := time.Date(2026, 3, 2, 9, 0, n, 0, time.UTC)
	return feeds.Story{
		SourceID: 1, URL: "https://zebra.example/" + time.Duration(n).String(),
		Title: "Zebra crossings get cameras", Summary: "Plates are read at every crossing.",
		PublishedAt: at, FirstSeenAt: at, Visible: true,
	}
}

// Every write of AddStories may be resent (go-redis retries, or a caller
// retries the batch); a resent claim counts nothing twice.
func TestSearchClaimResent(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{
		"server": redistest.Server, "cluster": redistest.Cluster,
	} {
		t.Run(name, func(t *testing.T) {
			s := openInternal(t, url(t))
			ctx := t.Context()
			st, _, err := s.AddStory(ctx, zebraStory(1))
			if err != nil {
				t.Fatal(err)
			}
			tokens := s.c.Get(ctx, s.k.searchTokens()).Val()
			doc := newSearchDoc(st)
			keys := append([]string{s.k.storyKeys(), s.k.searchDocs(), s.k.searchTokens()}, s.indexSets(st)...)
			args := []any{st.ID, member(st.PublishedAt, st.ID), doc.length, doc.entry(st)}
			for _, k := range st.DedupeKeys() {
				args = append(args, k)
			}
			for range 2 {
				owner, err := claimScript.Run(ctx, s.c, keys, args...).Int64()
				if err != nil || owner != st.ID {
					t.Fatalf("resent claim = %d, %v; want %d", owner, err, st.ID)
				}
			}
			if again := s.c.Get(ctx, s.k.searchTokens()).Val(); again != tokens {
				t.Errorf("token total %s after resent claims, was %s", again, tokens)
			}
			if n := s.c.HLen(ctx, s.k.searchDocs()).Val(); n != 1 {
				t.Errorf("%d search docs, want 1", n)
			}
			if _, _, err := s.AddStory(ctx, zebraStory(1)); err != nil { // the batch retried
				t.Fatal(err)
			}
			if n := searchTotal(t, s, "zebra"); n != 1 {
				t.Errorf("Search(zebra) = %d stories, want 1", n)
			}
		})
	}
}

// Postings whose story was never claimed (a crash between the two steps, or
// a claim lost to another process) are never found.
func TestSearchUnclaimedPostings(t *testing.T) {
	s := openInternal(t, redistest.Server(t))
	ctx := t.Context()
	if _, _, err := s.AddStory(ctx, zebraStory(1)); err != nil {
		t.Fatal(err)
	}
	ghost := zebraStory(2)
	ghost.ID = 999
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		s.writePostings(ctx, p, ghost.ID, newSearchDoc(ghost))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n := searchTotal(t, s, "zebra crossing"); n != 1 {
		t.Errorf("Search(zebra crossing) = %d stories, want 1", n)
	}
}

// A prefix expands to at most maxExpansions words, the word itself first.
func TestSearchPrefixExpansionCap(t *testing.T) {
	s := openInternal(t, redistest.Server(t))
	var batch []feeds.Story
	for i := range maxExpansions + 10 {
		st := zebraStory(i)
		st.Title = "Tracker qx" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		batch = append(batch, st)
	}
	if _, err := s.AddStories(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	if n := searchTotal(t, s, "qx"); n != maxExpansions {
		t.Errorf("Search(qx) = %d stories, want %d", n, maxExpansions)
	}
	if n := searchTotal(t, s, "qxcf"); n != 1 { // beyond the first 50, but whole
		t.Errorf("Search(qxcf) = %d stories, want 1", n)
	}
	if n := searchTotal(t, s, "tracker"); n != len(batch) {
		t.Errorf("Search(tracker) = %d stories, want %d", n, len(batch))
	}
}
