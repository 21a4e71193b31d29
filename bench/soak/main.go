// Command soak runs `tidings serve` as its own process over a store filled
// with realistic stories and drives it for a long time with an open-loop
// mix of page reads, searches, comment posts and newsletter sign-ups at a
// fixed rate, sampling the server's resident memory and goroutines every
// 10 s. It fails (exit status 1) on any 5xx or unanswered request, on
// resident memory growing 10% or more after warm-up, and on goroutines
// growing. See bench/soak.sh.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/secrets"
)

// config is what the flags set.
type config struct {
	bin, storeURL        string
	duration, warmup     time.Duration
	every                time.Duration
	rate                 float64
	stories, maxInFlight int
	keep                 bool
}

func main() {
	var c config
	flag.StringVar(&c.bin, "tidings", "", "the tidings binary (required)")
	flag.StringVar(&c.storeURL, "store", "", "store URL of an empty store, e.g. redis://127.0.0.1:PORT/0 (default: a fresh SQLite file in a temp dir)")
	flag.DurationVar(&c.duration, "d", 10*time.Minute, "how long to drive the load")
	flag.DurationVar(&c.warmup, "warmup", time.Minute, "resident memory and goroutines are compared from this point to the end")
	flag.DurationVar(&c.every, "sample", 10*time.Second, "how often the server is sampled")
	flag.Float64Var(&c.rate, "rate", 200, "requests per second, sent on schedule whatever the answers take")
	flag.IntVar(&c.stories, "stories", 2000, "stories in the store")
	flag.IntVar(&c.maxInFlight, "max-in-flight", 1000, "requests in flight at most; a request due beyond that is counted as not sent")
	flag.BoolVar(&c.keep, "keep", false, "keep the temp dir (store, server log)")
	flag.Parse()
	if c.bin == "" || c.rate <= 0 || c.duration <= c.warmup {
		fmt.Fprintln(os.Stderr, "soak: need -tidings BINARY, -rate > 0 and -d longer than -warmup")
		os.Exit(2)
	}
	failed, err := run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	if len(failed) > 0 {
		fmt.Println("\nFAILED:")
		for _, f := range failed {
			fmt.Println("  -", f)
		}
		os.Exit(1)
	}
	fmt.Println("\nPASSED: no 5xx, no unanswered request, resident memory growth under 10%, no goroutine growth")
}

func run(c config) ([]string, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := os.MkdirTemp("", "tidings-soak-")
	if err != nil {
		return nil, err
	}
	if c.keep {
		fmt.Println("temp dir:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	kind := "sqlite"
	if c.storeURL == "" {
		c.storeURL = "sqlite:" + filepath.Join(dir, "soak.db")
	} else {
		kind, _, _ = strings.Cut(c.storeURL, ":")
	}

	master := make([]byte, secrets.MinKeyLen)
	rand.Read(master)
	keys, err := secrets.New(master)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	s, err := prepare(ctx, c.storeURL, dir, keys, c.stories)
	if err != nil {
		return nil, fmt.Errorf("filling the store: %w", err)
	}
	fmt.Printf("store: %s, %d stories, %d approved commenters (filled in %.1f s)\n", kind, len(s.stories), len(s.returning), time.Since(t0).Seconds())

	sink, err := mailtest.Start(mailtest.ServerOptions{Discard: true})
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	srv, err := startServe(c.bin, c.storeURL, filepath.Join(dir, "data"), sink.URL()+"?tls=none", hex.EncodeToString(master), filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	fmt.Printf("tidings serve: pid %d at %s\n", srv.cmd.Process.Pid, srv.origin)

	rec := newRecorder()
	l := newLoader(srv.origin, s, rec)
	if err := l.refreshForm(ctx); err != nil {
		return nil, err
	}
	if err := l.learnCanonical(ctx); err != nil {
		return nil, err
	}
	// Prime every kind of request ten times, so that whatever the server starts
	// lazily is running, then count its goroutines with no client connected.
	rng := mrand.New(mrand.NewPCG(1, 2))
	for range 10 {
		for k := range nKinds {
			l.do(ctx, k, rng, time.Now())
		}
	}
	quietBefore, err := quietGoroutines(ctx, srv, l, 0, 3*time.Second)
	if err != nil {
		return nil, err
	}

	rep := report{duration: c.duration, rate: c.rate, maxInFlight: c.maxInFlight, warmAt: c.warmup, quietBefore: quietBefore, loadStart: loadAvg()}
	fmt.Printf("driving %.0f req/s for %s (warm-up %s); goroutines with no client: %d\n\n", c.rate, c.duration, c.warmup, quietBefore)
	fmt.Println("|   t | answered | 5xx | errors | p50 ms | p99 ms | RSS MiB | Go held MiB | heap MiB | goroutines |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	loadCtx, stopLoad := context.WithTimeout(ctx, c.duration)
	defer stopLoad()
	drained := make(chan struct{})
	go func() { defer close(drained); drive(loadCtx, l, c) }()
	go l.keepFormFresh(loadCtx)

	start := time.Now()
	var rss []int64 // every sample's, in order
	warmIdx := -1
	tick := time.NewTicker(c.every)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-loadCtx.Done():
			done = true
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if ended, err := srv.exited(); ended {
			return nil, fmt.Errorf("tidings serve exited during the soak (%v):\n%s", err, srv.logTail(20))
		}
		elapsed := time.Since(start).Round(time.Second)
		label := elapsed.String()
		if done {
			label = "end"
		}
		total, lat := rec.snapshot()
		sm, err := srv.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("sampling the server at %s: %w", elapsed, err)
		}
		answered := total[1] + total[2] + total[3] + total[4] + total[5]
		fmt.Printf("| %s | %d | %d | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %d |\n",
			label, answered, total[5], total[0], pct(lat, 0.5), pct(lat, 0.99), mib(sm.rss), mib(sm.goHeld), mib(sm.heapInuse), sm.goroutines)
		if warmIdx < 0 && elapsed >= c.warmup {
			rep.warm, rep.warmAt, warmIdx = sm, elapsed, len(rss)
		}
		rep.end = sm
		rss = append(rss, sm.rss)
	}
	rep.loadEnd = loadAvg()
	<-drained
	// One sample moves by a few percent with the garbage collector's
	// cycle: compare the mean of the three samples from the end of warm-up
	// with that of the last three.
	if warmIdx >= 0 {
		rep.warmRSS = mean(rss[warmIdx:min(warmIdx+3, len(rss))])
		rep.endRSS = mean(rss[max(0, len(rss)-3):])
		rep.rssGrowth = 100 * (rep.endRSS - rep.warmRSS) / rep.warmRSS
	}
	if rep.quietEnd, err = quietGoroutines(ctx, srv, l, quietBefore, 30*time.Second); err != nil {
		return nil, err
	}
	rep.mails, rep.subscribed = sink.Count(), rec.subscribed()
	if err := srv.stop(); err != nil {
		fmt.Println("stopping tidings serve:", err)
	}
	rep.logErrors, rep.logWarnings, rep.logFirst = srv.logProblems(5)
	return rec.print(rep), nil
}

// drive sends requests of the mix on a fixed schedule until ctx ends, each
// in its own goroutine, then waits for the answers.
func drive(ctx context.Context, l *loader, c config) {
	interval := time.Duration(float64(time.Second) / c.rate)
	sem := make(chan struct{}, c.maxInFlight)
	sched := mrand.New(mrand.NewPCG(3, 4))
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		k := pick(sched)
		seed := sched.Uint64()
		select {
		case sem <- struct{}{}:
		default:
			l.rec.skip()
			continue
		}
		go func() {
			defer func() { <-sem }()
			l.do(context.WithoutCancel(ctx), k, mrand.New(mrand.NewPCG(seed, uint64(i))), due)
		}()
	}
	for range c.maxInFlight {
		sem <- struct{}{} // every request has its answer
	}
}

// quietGoroutines closes the load generator's idle connections and reads
// the server's goroutines once a second until they are at most want (0:
// three readings), or for at most wait; it returns the last reading.
func quietGoroutines(ctx context.Context, srv *served, l *loader, want int, wait time.Duration) (int, error) {
	l.client.CloseIdleConnections()
	deadline := time.Now().Add(wait)
	last := -1
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Second):
		}
		sm, err := srv.read(ctx)
		if err != nil {
			return 0, err
		}
		last = sm.goroutines
		if (want > 0 && last <= want) || (want == 0 && n >= 2) || time.Now().After(deadline) {
			return last, nil
		}
	}
}

func mean(v []int64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += float64(x)
	}
	return sum / float64(len(v))
}

// loadAvg is the machine's load average over 1, 5 and 15 minutes.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
