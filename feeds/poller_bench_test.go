package feeds_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

var benchTopics = []string{
	"end-to-end encryption", "facial recognition", "location data brokers", "spyware",
	"data retention law", "browser fingerprinting", "encrypted backups", "GDPR fines",
	"ad tracking", "government surveillance", "VPN logging", "children's online safety bill",
}

// benchFeed is an RSS feed of n distinct privacy stories for feed number i.
func benchFeed(i, n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0"?><rss version="2.0"><channel><title>Bench %d</title><link>https://b%d.example/</link>`, i, i)
	for j := range n {
		topic := benchTopics[(i+j)%len(benchTopics)]
		fmt.Fprintf(&b, `<item><title>Story %d-%d on %s and privacy</title><link>https://b%d.example/s/%d</link>`+
			`<guid>b%d-%d</guid><pubDate>%s</pubDate><description>&lt;p&gt;Campaigners warn that %s puts the privacy of millions at risk; `+
			`regulators are asked to act before the surveillance spreads further.&lt;/p&gt;</description></item>`,
			i, j, topic, i, j, i, j, time.Date(2026, 1, 1, 0, j, 0, 0, time.UTC).Format(time.RFC1123Z), topic)
	}
	b.WriteString(`</channel></rss>`)
	return []byte(b.String())
}

// BenchmarkPollOnce polls 50 feeds of 20 items each: cold (empty store,
// every story new) and warm (every server answers 304).
func BenchmarkPollOnce(b *testing.B) {
	const nFeeds, nItems = 50, 20
	bodies := make([][]byte, nFeeds)
	for i := range bodies {
		bodies[i] = benchFeed(i, nItems)
	}
	srv := serve(b, func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/f/"))
		if err != nil || n < 0 || n >= nFeeds {
			http.NotFound(w, r)
			return
		}
		etag := `"` + strconv.Itoa(n) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(bodies[n])
	})
	setup := func(b *testing.B) *feeds.Poller {
		store := openStore(b)
		for i := range nFeeds {
			addSource(b, store, fmt.Sprintf("%s/f/%d", srv.URL, i))
		}
		return newPoller(store, newClock(), feeds.PollerOptions{AllowPrivate: true})
	}
	ctx := context.Background()

	b.Run("cold", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			p := setup(b)
			b.StartTimer()
			sum, err := p.PollOnce(ctx, true, nil)
			if err != nil || sum.NewStories != nFeeds*nItems {
				b.Fatalf("%+v, %v", sum, err)
			}
		}
		b.ReportMetric(float64(b.N*nFeeds*nItems)/b.Elapsed().Seconds(), "items/s")
	})
	b.Run("warm", func(b *testing.B) {
		p := setup(b)
		if _, err := p.PollOnce(ctx, true, nil); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			sum, err := p.PollOnce(ctx, true, nil)
			if err != nil || sum.NotModified != nFeeds {
				b.Fatalf("%+v, %v", sum, err)
			}
		}
	})
}
