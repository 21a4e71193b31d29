package feeds_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"

	"github.com/tidings/tidings/bench/ingest/feedgen"
	"github.com/tidings/tidings/feeds"
)

// The per-item cost of each stage of a cold poll, on the feeds that
// bench/ingest serves (feedgen, 20 items a feed). Each op is one feed; the
// metrics to read are cpu-ns/item (CPU time of the whole process, GC
// included, so it does not grow when other programs share the cores) and
// ns/item. Compare runs with benchstat:
//
//	go test ./feeds -run '^$' -bench IngestStages -cpu 1 -count 8 | tee new.txt
//
// parse-gofeed is what the gofeed-only ceiling does; parse is ParseFeed;
// clean is StoryFromItem; classify is Classifier.Classify; relate is the
// Relater's work for a feed (cluster, index, Similar Posts and the offers to
// older stories) against a full index of 5,000 stories; ingest is everything
// after parsing — clean, classify, relate and storing into SQLite, behind a
// relater and a store already holding 5,000 visible stories. Storing is
// ingest less clean, classify and relate.

const (
	benchItems   = 20
	benchPool    = 100     // feeds cycled through by the stateless stages
	benchFreshAt = 100_000 // feed numbers of the fresh feeds of relate and ingest
)

var benchNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// benchFeedOf is the parsed feedgen feed number f and its source.
func benchFeedOf(tb testing.TB, f int) ([]byte, *gofeed.Feed, feeds.Source) {
	body := feedgen.Feed(f, benchItems, benchNow)
	src := feeds.Source{ID: int64(f + 1), URL: fmt.Sprintf("http://127.0.1.%d:8000/f/%d.xml", f%100+1, f)}
	base, _ := url.Parse(src.URL)
	feed, err := feeds.ParseFeed(body, "application/rss+xml", base)
	if err != nil {
		tb.Fatal(err)
	}
	return body, feed, src
}

// benchStories cleans and classifies a parsed feed as the poller does.
func benchStories(c *feeds.Classifier, src feeds.Source, feed *gofeed.Feed) []feeds.Story {
	var out []feeds.Story
	for _, it := range feed.Items {
		if st, ok := feeds.StoryFromItem(src, feed, it, benchNow); ok {
			st.Relevance, st.Tags = c.Classify(st.Title, st.Summary)
			st.Visible = st.Relevance >= c.Threshold
			out = append(out, st)
		}
	}
	return out
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stageMeter adds up the CPU time of the measured parts of a benchmark and
// reports it, and the wall-clock time, per item.
type stageMeter struct {
	cpu   time.Duration
	mark  time.Duration
	items int
}

func (m *stageMeter) start() { m.mark = cpuTime() }
func (m *stageMeter) stop(items int) {
	m.cpu += cpuTime() - m.mark
	m.items += items
}

func (m *stageMeter) report(b *testing.B) {
	if m.items == 0 {
		return
	}
	b.ReportMetric(float64(m.cpu.Nanoseconds())/float64(m.items), "cpu-ns/item")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(m.items), "ns/item")
	b.ReportMetric(0, "ns/op") // an op is a feed; per item is what compares
}

func BenchmarkIngestStages(b *testing.B) {
	bodies := make([][]byte, benchPool)
	parsed := make([]*gofeed.Feed, benchPool)
	sources := make([]feeds.Source, benchPool)
	for i := range benchPool {
		bodies[i], parsed[i], sources[i] = benchFeedOf(b, i)
	}
	c := feeds.NewClassifier()
	stories := make([][]feeds.Story, benchPool)
	for i := range benchPool {
		stories[i] = benchStories(c, sources[i], parsed[i])
	}

	b.Run("parse-gofeed", func(b *testing.B) {
		var m stageMeter
		fp := gofeed.NewParser()
		i := 0
		m.start()
		for b.Loop() {
			if _, err := fp.Parse(bytes.NewReader(bodies[i%benchPool])); err != nil {
				b.Fatal(err)
			}
			i++
		}
		m.stop(i * benchItems)
		m.report(b)
	})
	b.Run("parse", func(b *testing.B) {
		var m stageMeter
		i := 0
		m.start()
		for b.Loop() {
			base, _ := url.Parse(sources[i%benchPool].URL)
			if _, err := feeds.ParseFeed(bodies[i%benchPool], "application/rss+xml", base); err != nil {
				b.Fatal(err)
			}
			i++
		}
		m.stop(i * benchItems)
		m.report(b)
	})
	b.Run("clean", func(b *testing.B) {
		var m stageMeter
		i, n := 0, 0
		m.start()
		for b.Loop() {
			feed := parsed[i%benchPool]
			for _, it := range feed.Items {
				if _, ok := feeds.StoryFromItem(sources[i%benchPool], feed, it, benchNow); !ok {
					b.Fatal("item refused")
				}
			}
			n += len(feed.Items)
			i++
		}
		m.stop(n)
		m.report(b)
	})
	b.Run("classify", func(b *testing.B) {
		var m stageMeter
		i, n := 0, 0
		m.start()
		for b.Loop() {
			for _, st := range stories[i%benchPool] {
				c.Classify(st.Title, st.Summary)
			}
			n += len(stories[i%benchPool])
			i++
		}
		m.stop(n)
		m.report(b)
	})
	b.Run("relate", func(b *testing.B) {
		r := feeds.NewRelater(feeds.DefaultRelaterSize)
		var rb relateBench
		f := 0
		for r.Len() < feeds.DefaultRelaterSize {
			_, feed, src := benchFeedOf(b, f)
			rb.relate(r, benchStories(c, src, feed))
			f++
		}
		var m stageMeter
		f = benchFreshAt
		for b.Loop() {
			b.StopTimer()
			_, feed, src := benchFeedOf(b, f)
			sts := benchStories(c, src, feed)
			f++
			b.StartTimer()
			m.start()
			rb.relate(r, sts)
			m.stop(len(sts))
		}
		m.report(b)
	})
	b.Run("ingest", func(b *testing.B) {
		ctx := context.Background()
		store := openStore(b)
		p := feeds.NewPoller(store, c, feeds.NewRelater(feeds.DefaultRelaterSize),
			feeds.PollerOptions{Now: func() time.Time { return benchNow }, Logger: quiet})
		visible, f := 0, 0
		for visible < feeds.DefaultRelaterSize {
			_, feed, src := benchFeedOf(b, f)
			src, err := store.AddSource(ctx, src)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := feeds.IngestForTest(ctx, p, src, feed); err != nil {
				b.Fatal(err)
			}
			visible += countVisible(benchStories(c, src, feed))
			f++
		}
		var m stageMeter
		f = benchFreshAt
		for b.Loop() {
			b.StopTimer()
			_, feed, src := benchFeedOf(b, f)
			src, err := store.AddSource(ctx, src)
			if err != nil {
				b.Fatal(err)
			}
			f++
			b.StartTimer()
			m.start()
			created, err := feeds.IngestForTest(ctx, p, src, feed)
			m.stop(len(feed.Items))
			if err != nil || created != len(feed.Items) {
				b.Fatalf("created %d of %d: %v", created, len(feed.Items), err)
			}
		}
		m.report(b)
	})
}

func countVisible(sts []feeds.Story) int {
	n := 0
	for _, st := range sts {
		if st.Visible {
			n++
		}
	}
	return n
}

// relateBench does a feed's Relater calls as the poller does: one look-up
// per visible story before storing, then (IDs given) indexing them together,
// and their Similar Posts with the offers to older stories.
type relateBench struct{ nextID int64 }

func (rb *relateBench) relate(r *feeds.Relater, sts []feeds.Story) {
	var fresh []feeds.Story
	var matches []feeds.Match
	for _, st := range sts {
		if st.Visible {
			m := r.Match(st, 5)
			st.ClusterID = m.Cluster
			rb.nextID++
			st.ID = rb.nextID
			fresh = append(fresh, st)
			matches = append(matches, m)
		}
	}
	r.AddAll(fresh)
	r.Relate(fresh, matches, 5)
}
