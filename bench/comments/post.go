package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings/comments"
)

var (
	formRe     = regexp.MustCompile(`<form class="comment-form" method="post" action="([^"]+)">`)
	csrfRe     = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)
	tsRe       = regexp.MustCompile(`<input type="hidden" name="ts" value="([^"]+)">`)
	postLineRe = regexp.MustCompile(`accepted (\d+) refused (\d+) first-refused (\d+) duration-us (\d+)`)
)

// benchPost posts comments through the real route with wrk, then through
// comments.Service.Submit alone, and checks that the store holds every
// comment counted as accepted.
func (f *fixture) benchPost(ctx context.Context, c config) error {
	page, err := fetch(f.story)
	if err != nil {
		return err
	}
	served := time.Now()
	action, csrf, ts := formRe.FindSubmatch(page), csrfRe.FindSubmatch(page), tsRe.FindSubmatch(page)
	if action == nil || csrf == nil || ts == nil {
		return errNoForm
	}
	dir, err := os.MkdirTemp("", "tidings-comments-lua-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "post.lua")
	if err := os.WriteFile(script, []byte(f.luaScript(string(csrf[1]), string(ts[1]))), 0o600); err != nil {
		return err
	}
	if c.header {
		fmt.Println("| store | what | accepted | seconds | accepted/s | p99 | CPU/accepted | store check | notes |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|")
	}

	// The form must look filled in at human speed: post it 3.5 s after it was served.
	time.Sleep(time.Until(served.Add(comments.MinFormTime + 500*time.Millisecond)))
	before, _, err := f.stored(ctx)
	if err != nil {
		return err
	}
	load := loadNote()
	self0, redis0 := f.cpu.read()
	r, err := runWrk(c.wrk, f.site+string(action[1]), c.duration, c.conns, script)
	if err != nil {
		return err
	}
	f.counted.settle()
	cpu := f.cpu.since(self0, redis0)
	m := postLineRe.FindStringSubmatch(r.out)
	if m == nil {
		return fmt.Errorf("wrk: no count of answers in its output:\n%s", r.out)
	}
	accepted, _ := strconv.Atoi(m[1])
	refused, _ := strconv.Atoi(m[2])
	us, _ := strconv.ParseFloat(m[4], 64)
	after, statuses, err := f.stored(ctx)
	if err != nil {
		return err
	}
	sent := int(f.counted.accepted.Load())
	check := fmt.Sprintf("+%d stored = %d 303s sent", after-before, sent)
	if after-before != sent {
		check = fmt.Sprintf("**MISMATCH**: +%d stored, %d 303s sent", after-before, sent)
	}
	notes := []string{fmt.Sprintf("wrk saw %d 303s (the rest were in flight when it stopped)", accepted)}
	if refused > 0 {
		notes = append(notes, fmt.Sprintf("%d other answers (e.g. %s)", refused, m[3]))
	}
	notes = append(notes, r.notes(), statuses, load)
	fmt.Printf("| %s | POST /stories/:id/comments, wrk %d connections | %d | %.2f | %.0f | %s | %s | %s | %s |\n",
		f.kind, c.conns, accepted, us/1e6, float64(accepted)/(us/1e6), r.p99, cpuNote(cpu, sent), check, join(notes...))

	if c.serviceFor <= 0 {
		return nil
	}
	before = after
	load = loadNote()
	self0, redis0 = f.cpu.read()
	n, errs, lat, elapsed := f.submitLoop(ctx, c.workers, c.serviceFor)
	cpu = f.cpu.since(self0, redis0)
	after, statuses, err = f.stored(ctx)
	if err != nil {
		return err
	}
	check = fmt.Sprintf("+%d stored = %d returned", after-before, n)
	if after-before != n {
		check = fmt.Sprintf("**MISMATCH**: +%d stored, %d returned", after-before, n)
	}
	notes = []string{statuses, load}
	if len(errs) > 0 {
		notes = append(notes, fmt.Sprintf("errors: %v", errs))
	}
	p99 := "-"
	if len(lat) > 0 {
		p99 = fmt.Sprintf("%.2fms", ms(lat[len(lat)*99/100]))
	}
	fmt.Printf("| %s | Service.Submit, %d goroutines | %d | %.2f | %.0f | %s | %s | %s | %s |\n",
		f.kind, c.workers, n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), p99, cpuNote(cpu, n), check, join(notes...))
	return nil
}

// cpuNote is the CPU time per accepted comment: this process's, and the
// redis-server's on Redis.
func cpuNote(s cpuSpan, n int) string {
	self, total := s.per(n)
	if s.redis == 0 {
		return fmt.Sprintf("%.0f µs", self)
	}
	return fmt.Sprintf("%.0f µs + redis %.0f µs", self, total-self)
}

// stored counts the story's comments, and says how many of them are in
// each status.
func (f *fixture) stored(ctx context.Context) (int, string, error) {
	by := map[comments.Status]int{}
	n := 0
	for after := int64(0); ; {
		// In pages: one read of every comment of a long discussion can
		// outlast the Redis client's read timeout.
		page, err := f.st.Comments(ctx, comments.Filter{StoryID: f.storyID, AfterID: after, Limit: 1000})
		if err != nil {
			return 0, "", err
		}
		for _, c := range page {
			by[c.Status]++
		}
		n += len(page)
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	return n, fmt.Sprintf("story now holds %d approved, %d pending, %d spam", by[comments.Approved], by[comments.Pending], by[comments.Spam]), nil
}

// submitLoop calls Service.Submit from workers goroutines for d, each
// submission from its own address, a quarter of them by commenters with an
// approved comment (published at once), half of them replies. It returns
// how many were stored, the errors by message, the sorted latencies and the
// time taken.
func (f *fixture) submitLoop(ctx context.Context, workers int, d time.Duration) (int, map[string]int, []time.Duration, time.Duration) {
	var (
		mu   sync.Mutex
		n    int
		errs = map[string]int{}
		lat  []time.Duration
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			var mine []time.Duration
			ok := 0
			bad := map[string]int{}
			for i := 0; time.Now().Before(deadline); i++ {
				sub := comments.Submission{
					StoryID: f.storyID, Author: fmt.Sprintf("Loop %d-%d", w, i), Email: fmt.Sprintf("loop-%d-%d@example.net", w, i),
					Body: commentBody(rng), FormTime: time.Now().Add(-time.Minute), IP: fmt.Sprintf("2001:db8:%x:%x::1", 0xff00|w, i),
				}
				if rng.IntN(4) == 0 {
					a := f.returned[rng.IntN(len(f.returned))]
					sub.Author, sub.Email, sub.Website = a.name, a.email, a.site
				}
				if rng.IntN(2) == 0 {
					sub.ParentID = f.seeded[rng.IntN(len(f.seeded))]
				}
				t0 := time.Now()
				_, err := f.svc.Submit(ctx, sub)
				mine = append(mine, time.Since(t0))
				if err != nil {
					bad[err.Error()]++
				} else {
					ok++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			n += ok
			lat = append(lat, mine...)
			for k, v := range bad {
				errs[k] += v
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return n, errs, lat, elapsed
}

// luaScript is the wrk script that posts the comment form: the hidden
// fields as served (CSRF token, form time, empty honeypot), a name, address
// and comment, sometimes a website, half of the time a reply to a comment
// of the thread, a quarter of the time by a commenter with approved
// comments (published at once, which empties the page cache); each request
// from its own address (X-Forwarded-For, the site trusting its proxy). It
// counts 303s, the answer to an accepted comment, apart from the rest.
func (f *fixture) luaScript(csrf, ts string) string {
	rng := rand.New(rand.NewPCG(3, 4))
	var bodies, returning, parents []string
	for range 64 {
		bodies = append(bodies, luaString(url.QueryEscape(commentBody(rng))))
	}
	for _, a := range f.returned {
		v := url.Values{"author": {a.name}, "email": {a.email}}
		if a.site != "" {
			v.Set("url", a.site)
		}
		returning = append(returning, luaString(v.Encode()))
	}
	for _, id := range f.seeded {
		parents = append(parents, strconv.FormatInt(id, 10))
	}
	return strings.NewReplacer(
		"{{FORM}}", luaString(url.Values{"csrf": {csrf}, "ts": {ts}, "website2": {""}}.Encode()),
		"{{BODIES}}", strings.Join(bodies, ",\n"),
		"{{RETURNING}}", strings.Join(returning, ",\n"),
		"{{PARENTS}}", strings.Join(parents, ","),
	).Replace(luaTemplate)
}

// luaString quotes s, which is URL-encoded (no quote or backslash), for Lua.
func luaString(s string) string { return `"` + s + `"` }

const luaTemplate = `-- Written by bench/comments: posts the comment form, each request from its
-- own address; counts 303s (accepted) apart from every other answer.
local form = {{FORM}}
local bodies = {
{{BODIES}}
}
local returning = {
{{RETURNING}}
}
local parents = { {{PARENTS}} }
local threads = {}
local nthreads = 0

function setup(thread)
  nthreads = nthreads + 1
  thread:set("tid", nthreads)
  table.insert(threads, thread)
end

function init(args)
  n, accepted, refused, firstRefused = 0, 0, 0, 0
  math.randomseed(tid * 7919)
end

function request()
  n = n + 1
  local who
  if math.random(4) == 1 then
    who = returning[math.random(#returning)]
  else
    who = string.format("author=Reader+%d-%d&email=reader-%d-%d%%40example.net", tid, n, tid, n)
    if math.random(3) == 1 then
      who = who .. "&url=https%3A%2F%2Fexample.com%2F"
    end
  end
  local body = form .. "&" .. who .. "&comment=" .. bodies[math.random(#bodies)]
  if math.random(2) == 1 then
    body = body .. "&parent=" .. parents[math.random(#parents)]
  end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Forwarded-For"] = string.format("2001:%x:%x:%x::1", 0xd000 + tid, math.floor(n / 65536), n % 65536),
  }, body)
end

function response(status, headers, body)
  if status == 303 then
    accepted = accepted + 1
  else
    refused = refused + 1
    if firstRefused == 0 then firstRefused = status end
  end
end

function done(summary, latency, requests)
  local a, r, f = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted")
    r = r + t:get("refused")
    if t:get("firstRefused") ~= 0 then f = t:get("firstRefused") end
  end
  io.write(string.format("accepted %d refused %d first-refused %d duration-us %d\n", a, r, f, summary.duration))
end
`
