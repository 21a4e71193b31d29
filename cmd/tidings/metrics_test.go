package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMetricsAfterTraffic runs `tidings serve` with its poller, lets it
// poll a feed, signs a reader up and posts a comment, then scrapes /metrics
// and checks that the series of every part — HTTP, poller, mailer,
// comments, store — exist and moved, and that no raw path became a label.
func TestMetricsAfterTraffic(t *testing.T) {
	ctx := context.Background()
	feed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		io.WriteString(w, freshFeed(time.Now().UTC()))
	}))
	t.Cleanup(feed.Close)
	data := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	flags := []string{"--store", "sqlite:" + data + "/tidings.db", "--data", data, "--base-url", base, "--allow-private-feeds"}
	t.Setenv("TIDINGS_SECRET_KEY", "")
	if code, out, errOut := tidings(t, ctx, append([]string{"feeds", "add", feed.URL + "/feed.xml", "--on-topic"}, flags...)...); code != 0 {
		t.Fatalf("feeds add: %d %s %s", code, out, errOut)
	}
	startServe(t, addr, append([]string{"--no-digest", "--trust-proxy", "--moderator", "mod@example.org"}, flags...))

	// The poller's first round fills the home page.
	var story []string
	deadline := time.Now().Add(10 * time.Second)
	for story == nil {
		story = regexp.MustCompile(`href="(/stories/\d+/[^"]+)"`).FindStringSubmatch(get(t, base+"/", http.StatusOK))
		if story == nil && time.Now().After(deadline) {
			t.Fatal("the poller stored no story")
		}
		time.Sleep(50 * time.Millisecond)
	}
	page := base + story[1]
	action := regexp.MustCompile(`^/stories/\d+`).FindString(story[1]) + "/comments"
	commentForm := formFields(t, get(t, page, http.StatusOK), action)
	formServed := time.Now()

	// A sign-up: one confirmation mail.
	signup := formFields(t, get(t, base+"/", http.StatusOK), "/subscribe")
	signup.Set("email", "metrics.reader@example.org")
	post(t, base+"/subscribe", signup, http.StatusOK)

	// A first comment, past the 3-second rule: held, and the moderator is
	// mailed.
	time.Sleep(time.Until(formServed.Add(3100 * time.Millisecond)))
	ann := &commenter{name: "Ann Metrics", email: "ann.metrics@example.org", ip: "203.0.113.7"}
	ann.post(t, base+action, commentForm, "", "Counting is caring.", http.StatusSeeOther)
	get(t, base+"/no/such/page", http.StatusNotFound)

	want := map[string]float64{
		`tidings_http_requests_total{code="2xx",method="POST",route="/subscribe"}`:            1,
		`tidings_http_requests_total{code="3xx",method="POST",route="/stories/:id/comments"}`: 1,
		`tidings_http_requests_total{code="4xx",method="GET",route="unmatched"}`:              1,
		`tidings_mail_sent_total{kind="confirmation"}`:                                        1,
		`tidings_mail_sent_total{kind="comment"}`:                                             1,
		`tidings_mail_sent_total{kind="digest"}`:                                              0,
		`tidings_comments_submitted_total{outcome="held"}`:                                    1,
		`tidings_comments_submitted_total{outcome="approved"}`:                                0,
	}
	atLeast := []string{
		`tidings_http_request_duration_seconds_count{route="/stories/:id/:slug"}`,
		`tidings_feed_fetches_total{result="ok"}`,
		`tidings_stories_ingested_total`,
		`tidings_mail_send_duration_seconds_count{kind="confirmation"}`,
		`tidings_store_duration_seconds_count{op="Stories"}`,
		`tidings_store_duration_seconds_count{op="ClaimDue"}`,
		`tidings_store_duration_seconds_count{op="AddComment"}`,
		`tidings_store_duration_seconds_count{op="AddSubscriber"}`,
		`tidings_store_errors_total{op="Story"}`,
	}
	// A request is counted once its answer is sent: read until the last
	// ones are in.
	var got map[string]float64
	deadline = time.Now().Add(10 * time.Second)
	for {
		got = scrapeMetrics(t, base)
		ok := true
		for series, n := range want {
			ok = ok && got[series] == n
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for series, n := range want {
		if v, found := got[series]; !found || v != n {
			t.Errorf("%s = %v (found %v), want %v", series, v, found, n)
		}
	}
	for _, series := range atLeast[:len(atLeast)-1] {
		if got[series] < 1 {
			t.Errorf("%s = %v, want at least 1", series, got[series])
		}
	}
	if v, found := got[atLeast[len(atLeast)-1]]; !found || v != 0 {
		t.Errorf("store errors: %v (found %v), want a zero series", v, found)
	}
	for series := range got {
		if strings.Contains(series, "/no/such") || regexp.MustCompile(`route="/stories/\d`).MatchString(series) {
			t.Errorf("a raw path became a label: %s", series)
		}
	}
}

// scrapeMetrics reads /metrics as series → value.
func scrapeMetrics(t *testing.T, base string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for line := range strings.SplitSeq(get(t, base+"/metrics", http.StatusOK), "\n") {
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
