package feeds

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/bench/ingest/feedgen"
)

// genStories are the cleaned, classified stories of feedgen feeds from..to-1
// (the ingest benchmark's feeds), a feed's oldest first, IDs unset.
func genStories(t testing.TB, from, to int) [][]Story {
	t.Helper()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := NewClassifier()
	var out [][]Story
	for f := from; f < to; f++ {
		src := Source{ID: int64(f + 1), URL: fmt.Sprintf("http://127.0.1.1:8000/f/%d.xml", f)}
		base, _ := url.Parse(src.URL)
		feed, err := ParseFeed(feedgen.Feed(f, 20, now), "application/rss+xml", base)
		if err != nil {
			t.Fatal(err)
		}
		var sts []Story
		for _, it := range slices.Backward(feed.Items) {
			st, ok := StoryFromItem(src, feed, it, now)
			if !ok {
				t.Fatalf("feed %d: item refused", f)
			}
			st.Relevance, st.Tags = c.Classify(st.Title, st.Summary)
			st.Visible = st.Relevance >= c.Threshold
			sts = append(sts, st)
		}
		out = append(out, sts)
	}
	return out
}

// relateOneByOne relates a feed's stories as a poll did before Match and
// Relate: Add each (clustered and given IDs already), Similar each, then the
// offers to the older stories, whose lists are in stored.
func relateOneByOne(r *Relater, fresh []Story, stored map[int64][]Related, k int) {
	for _, st := range fresh {
		r.Add(st)
	}
	offers := map[int64][]Related{}
	for _, st := range fresh {
		list := r.Similar(st, k)
		stored[st.ID] = list
		for _, x := range list {
			offers[x.ID] = append(offers[x.ID], Related{ID: st.ID, Score: x.Score})
		}
	}
	for _, st := range fresh {
		delete(offers, st.ID)
	}
	for id, offered := range offers {
		if len(stored[id]) < k {
			if list, ok := r.SimilarTo(id, k); ok {
				stored[id] = list
				continue
			}
		}
		for _, x := range offered {
			stored[id], _ = offerSimilar(stored[id], x, k)
		}
	}
}

// labelledFeeds are the labelled stories as feeds of six, IDs unset.
func labelledFeeds(t testing.TB) [][]Story {
	var out [][]Story
	stories := labelledStories(t)
	for i := 0; i < len(stories); i += 6 {
		feed := slices.Clone(stories[i:min(i+6, len(stories))])
		for j := range feed {
			feed[j].ID = 0
			feed[j].SourceID = int64(i/6 + 1)
		}
		out = append(out, feed)
	}
	return out
}

// TestRelateMatchesOneByOne relates the same feeds both ways, through an
// index that fills up and evicts, with several feeds looked up before the
// first is stored (as concurrent workers do), and wants the same clusters
// and the same Similar lists, the offered older stories' included.
func TestRelateMatchesOneByOne(t *testing.T) {
	const k = 5
	corpora := map[string][][]Story{"generated": genStories(t, 0, 120), "labelled": labelledFeeds(t)}
	for name, feeds := range corpora {
		for _, group := range []int{1, 6} {
			t.Run(fmt.Sprintf("%s/%d", name, group), func(t *testing.T) {
				testRelateMatchesOneByOne(t, feeds, group, k)
			})
		}
	}
}

func testRelateMatchesOneByOne(t *testing.T, feeds [][]Story, group, k int) {
	old, batched := NewRelater(300), NewRelater(300)
	oldLists := map[int64][]Related{}
	batchedLists := map[int64][]Related{}
	var nextID int64
	listed, clusters := 0, 0
	for g := 0; g < len(feeds); g += group {
		var fresh [][]Story
		var matches [][]Match
		for _, sts := range feeds[g:min(g+group, len(feeds))] {
			var fr []Story
			var ms []Match
			for _, st := range sts {
				if !st.Visible {
					continue
				}
				m := batched.Match(st, k)
				if c := old.Cluster(st); c != m.Cluster {
					t.Fatalf("cluster %d, Cluster says %d", m.Cluster, c)
				}
				st.ClusterID = m.Cluster
				nextID++
				st.ID = nextID
				fr = append(fr, st)
				ms = append(ms, m)
				if m.Cluster != 0 {
					clusters++
				}
			}
			fresh = append(fresh, fr)
			matches = append(matches, ms)
		}
		for f := range fresh {
			relateOneByOne(old, fresh[f], oldLists, k)
			batched.AddAll(fresh[f])
			for id, list := range batched.Relate(fresh[f], matches[f], k) {
				batchedLists[id] = list
			}
		}
	}
	for id, want := range oldLists {
		listed += len(want)
		if got := batchedLists[id]; !slices.Equal(got, want) {
			t.Errorf("story %d: Similar %v, one by one %v", id, got, want)
		}
	}
	if listed < 500 {
		t.Errorf("only %d Similar entries: the feeds relate too little for the test to mean much", listed)
	}
	t.Logf("%d stories, %d Similar entries compared, %d clustered", nextID, listed, clusters)
	checkRelater(t, batched)
	// The kept lists are the ones Relate returned last.
	for id, seq := range batched.byID {
		if got := batched.docs[seq%uint64(batched.max)].similar; !slices.Equal(got, batchedLists[id]) {
			t.Errorf("story %d: kept %v, returned %v", id, got, batchedLists[id])
		}
	}
}

func TestAddAllEqualsAdd(t *testing.T) {
	stories := labelledStories(t)
	one, all := NewRelater(100), NewRelater(100)
	for i := 0; i < len(stories); i += 7 {
		batch := stories[i:min(i+7, len(stories))]
		for _, st := range batch {
			one.Add(st)
		}
		all.AddAll(append(batch, batch[0])) // a repeated story is indexed once
	}
	checkRelater(t, all)
	if one.Len() != all.Len() || one.first != all.first {
		t.Fatalf("Len %d/%d, first %d/%d", one.Len(), all.Len(), one.first, all.first)
	}
	for _, st := range stories[len(stories)-100:] {
		if a, b := one.Similar(st, 5), all.Similar(st, 5); !slices.Equal(a, b) {
			t.Errorf("story %d: Similar %v after Add, %v after AddAll", st.ID, a, b)
		}
	}
	// A batch larger than a quarter of the index is added one by one.
	small := NewRelater(8)
	small.AddAll(stories[:20])
	checkRelater(t, small)
	if small.Len() != 8 {
		t.Errorf("Len %d, want 8", small.Len())
	}
}
