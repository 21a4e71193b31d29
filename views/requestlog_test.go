package views_test

import (
	"bufio"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tidings/tidings/views"
)

// logLines returns the log's "request" lines, each as its key=value pairs.
func logLines(t *testing.T, logs string) []map[string]string {
	t.Helper()
	var out []map[string]string
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		if !strings.Contains(sc.Text(), " msg=request ") {
			continue
		}
		kv := map[string]string{}
		for _, f := range strings.Fields(sc.Text()) {
			if k, v, ok := strings.Cut(f, "="); ok {
				kv[k] = v
			}
		}
		out = append(out, kv)
	}
	return out
}

// TestRequestLogKeepsSecretsOut makes the requests that carry secrets — a
// sign-up with an address in the form body, the one-click unsubscribe with
// its token in the query and an address in the body, the confirmation link,
// a search for an address, a made-up path holding one — and checks that
// the log has one line for each with its route and status, and neither an
// address, a token, a query string nor the client's IP.
func TestRequestLogKeepsSecretsOut(t *testing.T) {
	ls := newLetterSite(t)
	const addr = "Log.Secret@Example.org"
	ls.subscribe(t, ls.story, addr)
	confirm := ls.confirmPath(t, addr)
	ls.follow(t, confirm, "Confirm your subscription")
	ls.submit(t, onlyForm(t, ls.page(t, confirm)))
	unsub := ls.unsubscribePath(t, addr)
	resp, body := post(t, ls.ts.URL+unsub, formType, url.Values{"List-Unsubscribe": {"One-Click"}, "email": {addr}}.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %d\n%s", resp.StatusCode, body)
	}
	fetch(t, ls.ts.URL+"/search?q="+url.QueryEscape(addr))
	if resp, _ := fetch(t, ls.ts.URL+"/topics/"+url.PathEscape(addr)+"/nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("made-up path: %d", resp.StatusCode)
	}
	fetch(t, ls.ts.URL+"/healthz")

	wanted := []string{
		"GET /stories/:id/:slug 200", "POST /subscribe 200", "GET /subscribe/confirm 200",
		"HEAD /subscribe/confirm 200", "POST /subscribe/confirm 200", "POST /unsubscribe 200",
		"GET /search 200", "GET unmatched 404", "GET /healthz 200",
	}
	// A line is written once the answer is sent: wait for the last ones.
	var seen map[string]map[string]string
	waitFor(t, func() bool {
		seen = map[string]map[string]string{}
		for _, l := range logLines(t, ls.logs.String()) {
			seen[l["method"]+" "+l["route"]+" "+l["status"]] = l
		}
		for _, w := range wanted {
			if seen[w] == nil {
				return false
			}
		}
		return true
	}, "a request line for each of %v in\n%s", wanted, ls.logs)
	logs := ls.logs.String()
	secrets := []string{"xample.org", "Log.Secret", "Log%2ESecret", "%40", tokenOf(t, confirm), tokenOf(t, unsub), "token=", "q=", "127.0.0.1"}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("the log holds %q:\n%s", s, logs)
		}
	}
	for _, l := range logLines(t, logs) {
		for _, k := range []string{"request_id", "method", "route", "path", "status", "duration", "bytes", "client"} {
			if l[k] == "" {
				t.Errorf("a request line without %s: %v", k, l)
			}
		}
	}
	if l := seen["GET unmatched 404"]; l != nil && l["path"] != "/topics/[redacted]/nope" {
		t.Errorf("made-up path logged as %q", l["path"])
	}
	if l := seen["POST /unsubscribe 200"]; l != nil && l["path"] != "/unsubscribe" {
		t.Errorf("unsubscribe logged as %q", l["path"])
	}
	if l := seen["GET /healthz 200"]; l != nil && l["level"] != "DEBUG" {
		t.Errorf("/healthz logged at %s, want DEBUG", l["level"])
	}
	if l := seen["POST /subscribe 200"]; l != nil && l["level"] != "INFO" {
		t.Errorf("POST /subscribe logged at %s, want INFO", l["level"])
	}
}

var hexID = regexp.MustCompile(`^[0-9a-f]{24}$`)

// TestRequestID checks that every answer carries the ID its log line has,
// and that a client's own X-Request-ID is taken only behind a trusted proxy,
// and only when it is harmless to echo and log.
func TestRequestID(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run("trust-proxy="+strconv.FormatBool(trust), func(t *testing.T) {
			logs := &lockedBuffer{}
			st := newNewsroom(t).st
			srv, err := views.New(views.Options{Stories: st, TrustProxy: trust, Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			ts := httptest.NewServer(srv.Handler())
			defer ts.Close()
			resp, _ := fetch(t, ts.URL+"/")
			own := resp.Header.Get("X-Request-ID")
			if !hexID.MatchString(own) {
				t.Errorf("made-up ID %q", own)
			}
			waitFor(t, func() bool { return strings.Contains(logs.String(), "request_id="+own+" ") },
				"a log line with request_id=%s in\n%s", own, logs)
			if resp, _ := fetch(t, ts.URL+"/"); resp.Header.Get("X-Request-ID") == own {
				t.Error("two requests got one ID")
			}
			resp, _ = fetch(t, ts.URL+"/", "X-Request-ID", "edge-4f1c:17")
			if got := resp.Header.Get("X-Request-ID"); (got == "edge-4f1c:17") != trust {
				t.Errorf("client's ID with trust-proxy=%v: answered %q", trust, got)
			}
			for _, bad := range []string{"a b", "x\"y", strings.Repeat("a", 129), "é"} {
				resp, _ := fetch(t, ts.URL+"/", "X-Request-ID", bad)
				if got := resp.Header.Get("X-Request-ID"); !hexID.MatchString(got) {
					t.Errorf("ID %q answered with %q", bad, got)
				}
			}
		})
	}
}

// waitFor waits up to ten seconds for cond, then fails with the message.
func waitFor(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for "+format, args...)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// scrape fetches /metrics and returns each sample line's value by series.
func scrape(t *testing.T, base string) map[string]float64 {
	t.Helper()
	resp, body := fetch(t, base+"/metrics")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestHTTPMetrics scrapes /metrics around real requests: the counts move
// under the route's pattern, never its path, and made-up paths all fall
// under one label.
func TestHTTPMetrics(t *testing.T) {
	n := newNewsroom(t)
	reg := prometheus.NewRegistry()
	n.serve(t, views.Options{Stories: n.st, Metrics: reg})
	path := n.storyPath(t, "whatsapp")
	const (
		storyOK   = `tidings_http_requests_total{code="2xx",method="GET",route="/stories/:id/:slug"}`
		missing   = `tidings_http_requests_total{code="4xx",method="GET",route="/stories/:id"}`
		unmatched = `tidings_http_requests_total{code="4xx",method="GET",route="unmatched"}`
		duration  = `tidings_http_request_duration_seconds_count{route="/stories/:id/:slug"}`
	)
	n.page(t, path)
	// A request is counted once its answer is sent: wait for it.
	var before map[string]float64
	waitFor(t, func() bool { before = scrape(t, n.ts.URL); return before[storyOK] == 1 }, "the first request counted")
	for range 3 {
		n.page(t, path)
	}
	fetch(t, n.ts.URL+"/stories/999999")
	for i := range 5 {
		fetch(t, n.ts.URL+"/no/such/page/"+strconv.Itoa(i))
	}
	moves := map[string]float64{storyOK: 3, duration: 3, missing: 1, unmatched: 5}
	var after map[string]float64
	waitFor(t, func() bool {
		after = scrape(t, n.ts.URL)
		for series, moved := range moves {
			if after[series]-before[series] != moved {
				return false
			}
		}
		return true
	}, "the counts to move by %v from\n%v", moves, before)
	if after[`tidings_http_requests_total{code="2xx",method="GET",route="/metrics"}`] < 1 {
		t.Error("the first scrape was not counted")
	}
	for series := range after {
		if strings.Contains(series, "/no/such") || strings.Contains(series, "999999") || strings.Contains(series, path) {
			t.Errorf("a raw path became a label: %s", series)
		}
	}
	// Two servers on one registry share the instruments instead of failing.
	if _, err := views.New(views.Options{Stories: n.st, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
}

// storyPath is the canonical path of the story named key, where its short
// form redirects.
func (n *newsroom) storyPath(t *testing.T, key string) string {
	t.Helper()
	resp, _ := fetch(t, n.ts.URL+"/stories/"+strconv.FormatInt(n.ids[key], 10))
	loc := resp.Header.Get("Location")
	if resp.StatusCode/100 != 3 || !strings.HasPrefix(loc, "/stories/") {
		t.Fatalf("/stories/ID: %d to %q", resp.StatusCode, loc)
	}
	return loc
}
