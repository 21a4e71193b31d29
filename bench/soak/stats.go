package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// recorder keeps every answer: counts by kind and status class, counts by
// route and status, latencies (from when a request was due, so a slow
// server cannot hide its queue), and the latencies since the last sample.
type recorder struct {
	mu       sync.Mutex
	classes  [nKinds][6]int // index status/100; 0 holds transport errors
	lat      [nKinds][]time.Duration
	interval []time.Duration
	byRoute  map[string]int // "GET /topics/:tag 200"
	errs     map[string]int // transport errors by message
	skipped  int            // requests not sent: too many in flight
}

func newRecorder() *recorder {
	return &recorder{byRoute: map[string]int{}, errs: map[string]int{}}
}

func (r *recorder) done(k kind, route string, status int, due time.Time) {
	d := time.Since(due)
	r.mu.Lock()
	defer r.mu.Unlock()
	class := status / 100
	if class < 1 || class > 5 {
		class = 0
	}
	r.classes[k][class]++
	r.lat[k] = append(r.lat[k], d)
	r.interval = append(r.interval, d)
	r.byRoute[fmt.Sprintf("%s %d", route, status)]++
}

func (r *recorder) fail(k kind, due time.Time, err error) {
	d := time.Since(due)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.classes[k][0]++
	r.lat[k] = append(r.lat[k], d)
	r.interval = append(r.interval, d)
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && len(r.errs) > 20 {
		msg = msg[i+2:] // keep the map small when errors vary
	}
	r.errs[msg]++
}

func (r *recorder) skip() {
	r.mu.Lock()
	r.skipped++
	r.mu.Unlock()
}

// snapshot returns the totals by status class (index 0: transport
// errors), and the sorted latencies since the previous snapshot.
func (r *recorder) snapshot() (total [6]int, interval []time.Duration) {
	r.mu.Lock()
	for k := range nKinds {
		for c := range 6 {
			total[c] += r.classes[k][c]
		}
	}
	interval, r.interval = r.interval, nil
	r.mu.Unlock()
	slices.Sort(interval)
	return total, interval
}

// pct is the q-quantile (0 < q ≤ 1) of sorted latencies, in ms.
func pct(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.5) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// report is the end of a run, as printed.
type report struct {
	duration               time.Duration
	rate                   float64
	maxInFlight            int
	warmAt                 time.Duration
	warm, end              sample
	quietBefore, quietEnd  int     // goroutines with no client connected
	warmRSS, endRSS        float64 // means of three samples
	rssGrowth              float64
	loadStart, loadEnd     string
	mails, subscribed      int
	logErrors, logWarnings int
	logFirst               []string
}

// print writes the summary as markdown and returns the failed checks.
func (r *recorder) print(rep report) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var total [6]int
	for k := range nKinds {
		for c := range 6 {
			total[c] += r.classes[k][c]
		}
	}
	sum := 0
	for _, n := range total {
		sum += n
	}
	fmt.Printf("\n## Soak summary\n\n")
	fmt.Printf("%s at %.0f req/s open-loop (%d requests, %.1f/s answered); load average %s at start, %s at end\n\n",
		rep.duration, rep.rate, sum, float64(sum)/rep.duration.Seconds(), rep.loadStart, rep.loadEnd)
	fmt.Println("| kind | requests | 2xx | 3xx | 4xx | 5xx | errors | p50 ms | p90 ms | p99 ms | max ms |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	var all []time.Duration
	for k := range nKinds {
		lat := slices.Clone(r.lat[k])
		slices.Sort(lat)
		all = append(all, lat...)
		c := r.classes[k]
		fmt.Printf("| %s | %d | %d | %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f |\n", kindNames[k], len(lat),
			c[2], c[3], c[4], c[5], c[0], pct(lat, 0.5), pct(lat, 0.9), pct(lat, 0.99), pct(lat, 1))
	}
	slices.Sort(all)
	fmt.Printf("| all | %d | %d | %d | %d | %d | %d | %.1f | %.1f | %.1f | %.1f |\n\n", len(all),
		total[2], total[3], total[4], total[5], total[0], pct(all, 0.5), pct(all, 0.9), pct(all, 0.99), pct(all, 1))

	fmt.Println("Answers by route and status:")
	keys := make([]string, 0, len(r.byRoute))
	for k := range r.byRoute {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %-40s %d\n", k, r.byRoute[k])
	}
	if r.skipped > 0 {
		fmt.Printf("Not sent (too many requests in flight): %d\n", r.skipped)
	}
	for msg, n := range r.errs {
		fmt.Printf("Transport error ×%d: %s\n", n, msg)
	}
	fmt.Println()
	fmt.Printf("Resident memory (VmRSS, mean of three samples): %.1f MiB from %s, %.1f MiB at the end: %+.1f%% (single samples: %.1f MiB at %s, %.1f MiB at the end)\n",
		rep.warmRSS/(1<<20), rep.warmAt, rep.endRSS/(1<<20), rep.rssGrowth, mib(rep.warm.rss), rep.warmAt, mib(rep.end.rss))
	fmt.Printf("Held by the Go runtime: %.1f MiB at %s, %.1f MiB at the end (heap in use: %.1f and %.1f MiB)\n",
		mib(rep.warm.goHeld), rep.warmAt, mib(rep.end.goHeld), mib(rep.warm.heapInuse), mib(rep.end.heapInuse))
	fmt.Printf("Goroutines under load: %d at %s, %d at the end; with no client connected: %d before the load, %d after it\n",
		rep.warm.goroutines, rep.warmAt, rep.end.goroutines, rep.quietBefore, rep.quietEnd)
	fmt.Printf("Subscriptions answered 200: %d; confirmation mails received by the SMTP sink: %d\n", rep.subscribed, rep.mails)
	fmt.Printf("Server log: %d ERROR lines, %d WARN lines\n", rep.logErrors, rep.logWarnings)
	for _, l := range rep.logFirst {
		fmt.Printf("  %s\n", l)
	}

	var failed []string
	if total[5] > 0 {
		failed = append(failed, fmt.Sprintf("%d answers were 5xx", total[5]))
	}
	if total[0] > 0 {
		failed = append(failed, fmt.Sprintf("%d requests failed without an answer", total[0]))
	}
	if rep.rssGrowth >= 10 {
		failed = append(failed, fmt.Sprintf("resident memory grew %.1f%% after warm-up (limit: under 10%%)", rep.rssGrowth))
	}
	if rep.quietEnd > rep.quietBefore {
		failed = append(failed, fmt.Sprintf("goroutines grew from %d to %d (no client connected)", rep.quietBefore, rep.quietEnd))
	}
	if r.skipped > 0 {
		failed = append(failed, fmt.Sprintf("the rate was not sustained: %d requests were due while %d were in flight, and not sent; try a lower RATE", r.skipped, rep.maxInFlight))
	}
	if rep.mails != rep.subscribed {
		failed = append(failed, fmt.Sprintf("%d subscriptions accepted but %d confirmation mails received", rep.subscribed, rep.mails))
	}
	return failed
}

// subscribed counts the subscriptions answered 200.
func (r *recorder) subscribed() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byRoute["POST /subscribe 200"]
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
