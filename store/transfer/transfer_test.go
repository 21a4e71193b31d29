package transfer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/transfer"
)

// keyCheck is sealed once, so that every export of these tests has the
// same header.
var keyCheck = testKeys.Seal(transfer.KeyCheckText)

func export(t *testing.T, s *site) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := transfer.Export(t.Context(), s.dumper(t), &buf, transfer.ExportOptions{KeyCheck: keyCheck, Now: now}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func importInto(t *testing.T, s *site, file []byte) transfer.Counts {
	t.Helper()
	checkKey := func(sealed []byte) error {
		_, err := testKeys.Open(sealed)
		return err
	}
	got, err := transfer.Import(t.Context(), s.restorer(t), bytes.NewReader(file), transfer.ImportOptions{CheckKey: checkKey})
	if err != nil {
		t.Fatalf("import: %v (written: %v)", err, got)
	}
	return got
}

// sortedLines is an export with its lines in byte order: stores list some
// records (a Redis hash's deliveries) in an order of their own.
func sortedLines(b []byte) []string {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	slices.Sort(lines)
	return lines
}

// TestTransferRoundTrip moves a site built through the real services along
// chains of stores that cover every pair of SQLite, one Redis server and a
// Redis Cluster. After each move the export is the same as the first one,
// the site reads the same (home page, Similar Posts, search, comment
// threads, moderation queue, subscriber counts, digest archive and
// deliveries), a second `digest send` sends nothing, and new stories and
// comments get IDs above every ID the first site ever handed out.
func TestTransferRoundTrip(t *testing.T) {
	sqliteURL := func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "t.db") }
	kinds := map[string]func(t testing.TB) string{"sqlite": sqliteURL, "redis": redistest.Server, "cluster": redistest.Cluster}
	for _, chain := range [][]string{
		{"sqlite", "redis", "sqlite"},
		{"sqlite", "cluster", "sqlite"},
		{"redis", "cluster", "redis"},
		{"cluster", "sqlite", "cluster"},
	} {
		t.Run(strings.Join(chain, "-"), func(t *testing.T) {
			t.Parallel()
			first := newSite(t, kinds[chain[0]](t))
			build(t, first)
			want := readSite(t, first)
			checkFixture(t, want)
			file := export(t, first)
			checkNoAddress(t, file)
			counts, err := transfer.Check(bytes.NewReader(file))
			if err != nil {
				t.Fatal(err)
			}
			for _, kind := range chain[1:] {
				next := newSite(t, kinds[kind](t))
				if got := importInto(t, next, file); !reflect.DeepEqual(got, counts) {
					t.Errorf("into %s: imported %v, the file holds %v", kind, got, counts)
				}
				again := export(t, next)
				if !slices.Equal(sortedLines(again), sortedLines(file)) {
					t.Errorf("into %s: the export after the move differs:\n%s", kind, lineDiff(sortedLines(file), sortedLines(again)))
				}
				if kind == "sqlite" && chain[0] == "sqlite" && !bytes.Equal(again, file) {
					t.Errorf("SQLite to SQLite: the exports differ in their order")
				}
				if got := readSite(t, next); !reflect.DeepEqual(got, want) {
					t.Errorf("into %s: the site reads differently:\n got %+v\nwant %+v", kind, got, want)
				}
				checkWritesContinue(t, next, want)
				file = again
			}
		})
	}
}

// siteView is what readers and the operator see of a site.
type siteView struct {
	Home        []string // the home page: "ID title"
	Similar     map[int64][]feeds.Related
	Followers   map[int64][]int64 // "also covered by"
	Hidden      int               // stories not shown
	Search      map[string]string
	Threads     map[int64][]string // "depth ID author: body"
	Queue       []int64
	Subscribers map[newsletter.Status]int
	Archive     []string
	Deliveries  map[string]newsletter.DeliveryCounts
	Counters    map[string]int64
	Marks       []string
	Admin       string
}

func readSite(t *testing.T, s *site) siteView {
	t.Helper()
	ctx := t.Context()
	v := siteView{Similar: map[int64][]feeds.Related{}, Followers: map[int64][]int64{}, Search: map[string]string{},
		Threads: map[int64][]string{}, Deliveries: map[string]newsletter.DeliveryCounts{}}
	home, err := s.st.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, LeadersOnly: true, Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, st := range home {
		v.Home = append(v.Home, fmt.Sprintf("%d %s", st.ID, st.Title))
		full, err := s.st.Story(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		v.Similar[st.ID] = full.Similar
		ids = append(ids, st.ID)
	}
	followers, err := s.st.Stories(ctx, feeds.StoryFilter{VisibleOnly: true, ClusterIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range followers {
		v.Followers[f.ClusterID] = append(v.Followers[f.ClusterID], f.ID)
	}
	all, err := s.st.CountStories(ctx, feeds.StoryFilter{})
	shown, err2 := s.st.CountStories(ctx, feeds.StoryFilter{VisibleOnly: true})
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	v.Hidden = all - shown
	for _, q := range []string{"encryption", "privacy data", "\"end-to-end\"", "surveil"} {
		res, err := s.st.Search(ctx, feeds.SearchQuery{Text: q, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		v.Search[q] = fmt.Sprintf("%d: %v", res.Total, storyIDs(res.Stories))
	}
	for _, id := range ids[:2] {
		nodes, err := s.cm.Thread(ctx, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		v.Threads[id] = flatten(nodes)
	}
	queue, err := s.cm.Pending(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range queue {
		v.Queue = append(v.Queue, c.ID)
	}
	if v.Subscribers, err = s.nl.Counts(ctx); err != nil {
		t.Fatal(err)
	}
	issues, err := s.nl.Issues(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, is := range issues {
		v.Archive = append(v.Archive, is.Week+" "+is.Subject+" "+s.nl.WebHTML(is))
		if v.Deliveries[is.Week], err = s.st.CountDeliveries(ctx, is.Week); err != nil {
			t.Fatal(err)
		}
	}
	if v.Counters, err = s.dumper(t).IDCounters(ctx); err != nil {
		t.Fatal(err)
	}
	if v.Marks, err = s.dumper(t).OnceMarks(ctx); err != nil {
		t.Fatal(err)
	}
	ap, ok := s.st.(interface {
		AdminPassword(context.Context) (string, error)
	})
	if !ok {
		t.Fatalf("%T keeps no admin password", s.st)
	}
	if v.Admin, err = ap.AdminPassword(ctx); err != nil {
		t.Fatal(err)
	}
	return v
}

func storyIDs(sts []feeds.Story) []int64 {
	var ids []int64
	for _, st := range sts {
		ids = append(ids, st.ID)
	}
	return ids
}

func flatten(nodes []*comments.Node) []string {
	var out []string
	for _, n := range nodes {
		out = append(out, fmt.Sprintf("%d %d %s: %s", n.Depth, n.Comment.ID, n.Author, n.Body))
		out = append(out, flatten(n.Children)...)
	}
	return out
}

// checkFixture makes sure the site holds what the round trip must carry.
func checkFixture(t *testing.T, v siteView) {
	t.Helper()
	similar := 0
	for _, s := range v.Similar {
		if len(s) > 0 {
			similar++
		}
	}
	switch {
	case len(v.Home) != 30 || similar == 0 || len(v.Followers) == 0 || v.Hidden == 0:
		t.Fatalf("the fixture lacks stories: %d on the home page, %d with similar ones, %d clusters, %d hidden",
			len(v.Home), similar, len(v.Followers), v.Hidden)
	case v.Subscribers[newsletter.Confirmed] != 5 || v.Subscribers[newsletter.Pending] != 1 || v.Subscribers[newsletter.Unsubscribed] != 1:
		t.Fatalf("the fixture's subscribers: %v", v.Subscribers)
	case len(v.Archive) != 1 || len(v.Queue) != 1:
		t.Fatalf("the fixture's archive %d, moderation queue %v", len(v.Archive), v.Queue)
	}
	var thread []string
	for _, th := range v.Threads {
		thread = append(thread, th...)
	}
	if len(thread) != 3 || !strings.HasPrefix(thread[2], "3 ") {
		t.Fatalf("the fixture's threads: %q", thread)
	}
}

// checkWritesContinue sends the digest again and adds a story and a
// comment: nothing is mailed, and the new IDs are above the old counters.
func checkWritesContinue(t *testing.T, s *site, before siteView) {
	t.Helper()
	ctx := t.Context()
	mailed := s.mailed(t)
	rep, err := s.nl.Send(ctx, "", newsletter.SendOptions{})
	// The report counts the issue's deliveries, those sent before the move
	// included; the outbox shows what this send mailed.
	if err != nil || rep.Sent != before.Deliveries[rep.Week].Sent || rep.Pending != 0 || s.mailed(t) != mailed {
		t.Errorf("digest send after the move: %+v, %v, %d mails; want nothing sent", rep, err, s.mailed(t)-mailed)
	}
	st, _, err := s.st.AddStory(ctx, feeds.Story{SourceID: 1, URL: "https://new.example/after-move", Title: "After the move",
		PublishedAt: clock, FirstSeenAt: clock, Visible: true, Relevance: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.cm.Submit(ctx, comments.Submission{StoryID: st.ID, Author: "Ann", Email: commenterAddrs["Ann"],
		Body: "First after the move", FormTime: clock.Add(-time.Minute), IP: "192.0.2.200"})
	if err != nil {
		t.Fatal(err)
	}
	if st.ID <= before.Counters["stories"] || c.ID <= before.Counters["comments"] {
		t.Errorf("new story %d, comment %d; want above the counters %v", st.ID, c.ID, before.Counters)
	}
}

// checkNoAddress fails if the export holds an address in plain text (or in
// base64, in case a field were left unsealed).
func checkNoAddress(t *testing.T, file []byte) {
	t.Helper()
	lower := bytes.ToLower(file)
	addrs := slices.Clone(subscriberAddrs)
	for _, a := range commenterAddrs {
		addrs = append(addrs, a)
	}
	for _, a := range addrs {
		for _, form := range []string{strings.ToLower(a), base64.StdEncoding.EncodeToString([]byte(a))[:12]} {
			if bytes.Contains(lower, []byte(strings.ToLower(form))) {
				t.Errorf("the export holds %q (%s)", form, a)
			}
		}
	}
	if bytes.Contains(file, []byte("@example")) {
		t.Error("the export holds an @example address")
	}
}

// lineDiff shows the lines only one side has.
func lineDiff(a, b []string) string {
	var out []string
	for _, l := range a {
		if !slices.Contains(b, l) {
			out = append(out, "- "+short(l))
		}
	}
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, "+ "+short(l))
		}
	}
	return strings.Join(out, "\n")
}

func short(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
