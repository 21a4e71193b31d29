// Command ingest measures feed ingestion: N feeds of M items served from
// loopback, polled cold (all new) and warm (all 304), next to the ceiling of
// gofeed alone parsing the same bodies, in wall-clock time and in CPU time
// per item. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mmcdole/gofeed"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/bench/ingest/feedgen"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store"
)

func main() {
	nFeeds := flag.Int("feeds", 2000, "feeds to serve")
	nItems := flag.Int("items", 20, "items a feed")
	storeURL := flag.String("store", "", "store URL (default: a fresh SQLite file in a temp dir)")
	hosts := flag.Int("hosts", 100, "loopback addresses the feeds are spread over (the poller allows 2 requests a host)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the cold poll to this file")
	flag.Parse()
	profile = *cpuProfile
	if err := bench(*nFeeds, *nItems, *hosts, *storeURL); err != nil {
		log.Fatal(err)
	}
}

// profile is where the cold poll's CPU profile goes ("" for none).
var profile string

func bench(nFeeds, nItems, nHosts int, storeURL string) error {
	ctx := context.Background()
	now := time.Now().UTC()
	bodies := make([][]byte, nFeeds)
	for i := range bodies {
		bodies[i] = feedgen.Feed(i, nItems, now)
	}
	urls, stop, err := serveFeeds(bodies, nHosts)
	if err != nil {
		return err
	}
	defer stop()

	ceilingCPU := processCPU()
	ceiling := parseCeiling(bodies)
	ceilingCPU = processCPU() - ceilingCPU

	if storeURL == "" {
		dir, err := os.MkdirTemp("", "tidings-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		storeURL = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, u := range urls {
		if _, err := st.AddSource(ctx, feeds.Source{URL: u}); err != nil {
			return err
		}
	}
	p := feeds.NewPoller(st, feeds.NewClassifier(), feeds.NewRelater(5000), feeds.PollerOptions{
		Workers: 8, PerHost: 2, UserAgent: "Tidings/bench", AllowPrivate: true,
	})

	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		pprof.StartCPUProfile(f)
	}
	coldCPU, serverCPU := processCPU(), redisCPU(ctx, storeURL)
	start := time.Now()
	cold, err := p.PollOnce(ctx, true, nil)
	if err != nil {
		return err
	}
	coldDur := time.Since(start)
	coldCPU = processCPU() - coldCPU + redisCPU(ctx, storeURL) - serverCPU
	pprof.StopCPUProfile()
	start = time.Now()
	warm, err := p.PollOnce(ctx, true, nil)
	if err != nil {
		return err
	}
	warmDur := time.Since(start)

	kind := storeURL[:strings.Index(storeURL, ":")]
	items := float64(nFeeds * nItems)
	perItem := func(d time.Duration) float64 { return float64(d.Microseconds()) / items }
	fmt.Printf("| %s | %d×%d | %.0f items/s (%.2f s) | %.0f items/s | %.0f%% | %.0f µs | %.1f µs | %.0f%% | %.3f s | new %d, failed %d; warm: not modified %d |\n",
		kind, nFeeds, nItems, items/coldDur.Seconds(), coldDur.Seconds(), ceiling*float64(nItems),
		100*items/coldDur.Seconds()/(ceiling*float64(nItems)), perItem(coldCPU), perItem(ceilingCPU),
		100*float64(ceilingCPU)/float64(coldCPU), warmDur.Seconds(), cold.NewStories, len(cold.Failed), warm.NotModified)
	return nil
}

// processCPU is the CPU time (user and system) this process has used: unlike
// wall-clock time, it does not grow when other programs share the cores.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU time the Redis server at storeURL has used (INFO cpu),
// so that a cold poll on Redis is charged for the server's work too; 0 for
// another store.
func redisCPU(ctx context.Context, storeURL string) time.Duration {
	if !strings.HasPrefix(storeURL, "redis://") {
		return 0
	}
	opts, err := goredis.ParseURL(storeURL)
	if err != nil {
		log.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	info, err := c.Info(ctx, "cpu").Result()
	if err != nil {
		log.Fatal(err)
	}
	var total time.Duration
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_sys" || k == "used_cpu_user" {
			sec, err := strconv.ParseFloat(v, 64)
			if err != nil {
				log.Fatal(err)
			}
			total += time.Duration(sec * float64(time.Second))
		}
	}
	return total
}

// parseCeiling is gofeed alone parsing every body on every core: feeds/s.
func parseCeiling(bodies [][]byte) float64 {
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	next := make(chan []byte)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := gofeed.NewParser()
			for b := range next {
				if _, err := p.Parse(bytes.NewReader(b)); err != nil {
					log.Fatal(err)
				}
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	return float64(len(bodies)) / time.Since(start).Seconds()
}

// serveFeeds serves every body with an ETag, answering 304 to a matching
// If-None-Match, spread over nHosts loopback addresses (127.0.1.x).
func serveFeeds(bodies [][]byte, nHosts int) ([]string, func(), error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/f/"), ".xml"))
		if err != nil || n < 0 || n >= len(bodies) {
			http.NotFound(w, r)
			return
		}
		etag := `"f` + strconv.Itoa(n) + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Write(bodies[n])
	})
	var servers []*http.Server
	var addrs []string
	for i := 0; i < nHosts; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.1.%d:0", i+1))
		if err != nil {
			return nil, nil, err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		servers = append(servers, srv)
		addrs = append(addrs, ln.Addr().String())
	}
	urls := make([]string, len(bodies))
	for i := range bodies {
		urls[i] = fmt.Sprintf("http://%s/f/%d.xml", addrs[i%len(addrs)], i)
	}
	return urls, func() {
		for _, s := range servers {
			s.Close()
		}
	}, nil
}
