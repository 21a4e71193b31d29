package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
)

// TestServeSurvivesKills is the crash test of a whole site. A real `tidings
// serve` process polls five loopback feeds that grow while it runs, takes
// comments from a client posting all along and sign-ups from readers who
// confirm by the mailed link, then sends the weekly digest, started from the
// admin page, to a few thousand subscribers. It is killed with SIGKILL at
// random moments, TIDINGS_CRASH_KILLS times (default 4): the first half while
// it polls and takes comments and sign-ups, the rest during the send; it is
// started again after each kill. Afterwards every item served is one story
// (after a last poll), every comment answered is stored once and one cut off
// by a kill at most once, every sign-up answered is one subscriber, every
// confirmed subscriber got the digest, and the copies sent twice are no more
// than the messages in flight, counted at each kill as the digests the sink
// received that the store does not hold as sent.
func TestServeSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test starts a server again after each kill")
	}
	kills := 4
	if v := os.Getenv("TIDINGS_CRASH_KILLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 {
			t.Fatalf("TIDINGS_CRASH_KILLS=%q: want a number of kills, 2 or more", v)
		}
		kills = n
	}
	t.Run("sqlite", func(t *testing.T) {
		serveCrashTest(t, "sqlite:"+filepath.Join(t.TempDir(), "crash.db"), kills)
	})
	t.Run("redis", func(t *testing.T) { serveCrashTest(t, redistest.Server(t), kills) })
}

const (
	crashFeeds = 5
	// itemEvery is how often each feed gains an item, up to crashFeedItems.
	itemEvery      = 300 * time.Millisecond
	crashFeedItems = 150
	// crashConnections is the SMTP connections (and workers) of a send.
	crashConnections = 4
)

func serveCrashTest(t *testing.T, storeURL string, kills int) {
	began := time.Now()
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("TIDINGS_SECRET_KEY", "a2lsbGVkIGFuZCBzdGFydGVkIGFnYWluLCB0aGUgc2FtZSBrZXk")
	t.Setenv(passwordHashEnv, "")
	feedSrv := newGrowingFeeds(t)
	sink := mailtest.NewServer(t, mailtest.ServerOptions{})
	addr := freeAddr(t)
	base := "http://" + addr
	common := []string{"--store", storeURL, "--data", dir, "--base-url", base, "--allow-private-feeds"}
	sendKills := kills / 2

	for i := range crashFeeds {
		if code, out, errOut := tidings(t, ctx, append([]string{"feeds", "add", fmt.Sprintf("%s/feed/%d", feedSrv.URL, i), "--on-topic"}, common...)...); code != 0 {
			t.Fatalf("feeds add: %d %s %s", code, out, errOut)
		}
	}
	// Enough subscribers for the send to outlast its kills at 150 a second.
	bulk := 200*sendKills + 300
	var csv strings.Builder
	csv.WriteString("email\n")
	for i := range bulk {
		fmt.Fprintf(&csv, "reader%04d@example.org\n", i)
	}
	csvFile := filepath.Join(dir, "subs.csv")
	if err := os.WriteFile(csvFile, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := tidings(t, ctx, append([]string{"subscribers", "import", csvFile}, common...)...); code != 0 {
		t.Fatalf("subscribers import: %d %s %s", code, out, errOut)
	}
	const password = "a long admin passphrase for the crash test"
	if code, out, errOut := tidingsIn(t, password+"\n", append([]string{"admin", "password"}, common...)...); code != 0 {
		t.Fatalf("admin password: %d %s %s", code, out, errOut)
	}

	// A schedule three days ahead is not due: the digest goes when the admin
	// page says, and the scheduler only resumes a send left unfinished.
	later := time.Now().UTC().Add(72 * time.Hour)
	schedule := fmt.Sprintf("%s %02d:%02d UTC", later.Weekday().String()[:3], later.Hour(), later.Minute())
	proc := &serveProc{t: t, addr: addr, args: append([]string{"serve", "--addr", addr, "--trust-proxy",
		"--poll-interval", "1s", "--smtp", sink.URL() + "?tls=none", "--smtp-rate", "150",
		"--smtp-connections", strconv.Itoa(crashConnections), "--digest-schedule", schedule, "--digest-lease", "5s"}, common...)}
	t.Cleanup(proc.cleanup)
	proc.start()
	t.Logf("%v serve is ready", since(began))

	// The readers: a commenter on the first story, and people signing up.
	story := waitForStory(t, base)
	action := regexp.MustCompile(`^/stories/\d+`).FindString(story) + "/comments"
	poster := &commentPoster{action: base + action, form: formFields(t, get(t, base+story, http.StatusOK), action),
		answered: map[string]bool{}, cut: map[string]bool{}, down: map[string]bool{}, refused: map[string]int{}}
	signer := &signups{base: base, form: formFields(t, get(t, base+"/", http.StatusOK), "/subscribe"), sink: sink}
	stopComments, stopSignups := make(chan struct{}), make(chan struct{})
	var commenting, signing sync.WaitGroup
	commenting.Go(func() { poster.run(stopComments) })
	signing.Go(func() { signer.run(stopSignups) })
	defer func() {
		closeOnce(stopComments)
		closeOnce(stopSignups)
		commenting.Wait()
		signing.Wait()
	}()
	deadline := time.Now().Add(30 * time.Second)
	for poster.count() < 3 || signer.count() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the readers did not get going: %d comments, %d sign-ups answered", poster.count(), signer.count())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Kills while the site polls and takes comments and sign-ups.
	for k := range kills - sendKills {
		time.Sleep(300*time.Millisecond + rand.N(1200*time.Millisecond))
		proc.kill()
		t.Logf("%v kill %d: %d comments answered, %d sign-ups answered", since(began), k+1, poster.count(), signer.count())
		proc.start()
	}
	closeOnce(stopSignups)
	signing.Wait()

	// Who is owed the digest: everyone confirmed before it starts.
	owed := map[string]int64{}
	func() {
		_, svc, closeStore := crashStore(t, storeURL, dir)
		defer closeStore()
		err := svc.EachSubscriber(ctx, newsletter.Confirmed, func(sub newsletter.Subscriber, a string) error {
			owed[a] = sub.ID
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}()

	// Compose and send from the admin page, then kill during the send.
	admin := newCrashAdmin(t, base, password)
	week := admin.compose()
	admin.send(week)
	unrecordedSeen := map[string]int{}
	inFlight, maxInFlight := 0, 0
	for k := range sendKills {
		before := sink.Count()
		if !sink.WaitCount(before+20+rand.IntN(130), 30*time.Second) {
			t.Logf("kill %d: the send delivered only %d more messages", kills-sendKills+k+1, sink.Count()-before)
		}
		proc.kill()
		settle(sink)
		n := unrecorded(t, storeURL, dir, week, owed, digestCounts(sink), unrecordedSeen)
		inFlight += n
		maxInFlight = max(maxInFlight, n)
		t.Logf("%v kill %d during the send, after %d messages: %d in flight", since(began), kills-sendKills+k+1, sink.Count(), n)
		proc.start()
		admin.send(week) // pressing "send" again goes on where it stopped
	}

	// The send ends by itself (the store owes nothing more); then the
	// server stops as an operator stops it.
	waitSendDone(t, storeURL, dir, week)
	settle(sink)
	t.Logf("%v the send is done", since(began))
	closeOnce(stopComments)
	commenting.Wait()
	proc.stop()

	// A further send sends nothing; a last poll takes what was served since.
	total := sink.Count()
	send := append([]string{"digest", "send", "--week", week, "--smtp", sink.URL() + "?tls=none", "--smtp-rate", "0"}, common...)
	if code, out, errOut := tidings(t, ctx, send...); code != 0 || !strings.Contains(out, "still owed 0") {
		t.Errorf("a further send: %d %s %s", code, out, errOut)
	}
	if sink.Count() != total {
		t.Errorf("a further send sent %d more messages", sink.Count()-total)
	}
	if code, out, errOut := tidings(t, ctx, append([]string{"poll", "--once", "--all"}, common...)...); code != 0 {
		t.Fatalf("last poll: %d %s %s", code, out, errOut)
	}

	st, svc, closeStore := crashStore(t, storeURL, dir)
	defer closeStore()
	var fig crashFigures
	fig.kills, fig.sendKills = kills, sendKills
	checkStories(t, st, feedSrv, &fig)
	checkComments(t, st, poster, &fig)
	checkSubscribers(t, svc, signer, bulk, &fig)
	checkDigest(t, st, week, owed, digestCounts(sink), &fig)
	fig.inFlight, fig.maxInFlight = inFlight, maxInFlight
	if fig.digestDupes > inFlight {
		t.Errorf("%d digests went twice, but only %d were in flight at the kills", fig.digestDupes, inFlight)
	}
	t.Logf("crash figures: store=%s %s time=%v", strings.SplitN(storeURL, ":", 2)[0], fig, since(began))
}

// crashFigures are the counts the test reports (bench/crash.sh prints them).
type crashFigures struct {
	kills, sendKills                                     int
	stories, storiesLost, storiesDup                     int
	commentsAnswered, commentsCut, commentsCutStored     int
	commentsLost, commentsDup                            int
	signups, confirmed, noConfirmMail, subsLost, subsDup int
	owed, digestMissing, digestDupes, inFlight           int
	maxInFlight                                          int
}

func (f crashFigures) String() string {
	return fmt.Sprintf("kills=%d send_kills=%d stories=%d stories_lost=%d stories_dup=%d "+
		"comments_answered=%d comments_lost=%d comments_dup=%d comments_cut=%d comments_cut_stored=%d "+
		"signups=%d confirmed=%d subscribers_lost=%d subscribers_dup=%d no_confirm_mail=%d "+
		"digest_owed=%d digest_missing=%d digest_dup=%d in_flight=%d max_in_flight_one_kill=%d",
		f.kills, f.sendKills, f.stories, f.storiesLost, f.storiesDup,
		f.commentsAnswered, f.commentsLost, f.commentsDup, f.commentsCut, f.commentsCutStored,
		f.signups, f.confirmed, f.subsLost, f.subsDup, f.noConfirmMail,
		f.owed, f.digestMissing, f.digestDupes, f.inFlight, f.maxInFlight)
}

// checkStories: every item the feeds served is one story, and there are no others.
func checkStories(t *testing.T, st store.Store, g *growingFeeds, fig *crashFigures) {
	t.Helper()
	all, err := st.Stories(context.Background(), feeds.StoryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]int{}
	for _, s := range all {
		byURL[s.URL]++
	}
	served := g.servedItems()
	for feed, n := range served {
		for i := range n {
			switch c := byURL[itemURL(feed, i)]; {
			case c == 0:
				fig.storiesLost++
				t.Errorf("item %s was served but is not a story", itemURL(feed, i))
			case c > 1:
				fig.storiesDup += c - 1
				t.Errorf("item %s is %d stories", itemURL(feed, i), c)
			}
			delete(byURL, itemURL(feed, i))
		}
	}
	for u := range byURL {
		t.Errorf("story %s was never served", u)
	}
	fig.stories = len(all)
}

// checkComments: a comment answered is stored once; one cut off by a kill
// at most once; one sent while the server was down, or refused, never.
func checkComments(t *testing.T, st store.Store, p *commentPoster, fig *crashFigures) {
	t.Helper()
	all, err := st.Comments(context.Background(), comments.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int{}
	for _, c := range all {
		stored[c.Body]++
	}
	for text := range p.answered {
		switch n := stored[text]; {
		case n == 0:
			fig.commentsLost++
			t.Errorf("comment %q was answered but is not stored", text)
		case n > 1:
			fig.commentsDup += n - 1
			t.Errorf("comment %q is stored %d times", text, n)
		}
	}
	for text := range p.cut {
		if n := stored[text]; n > 1 {
			fig.commentsDup += n - 1
			t.Errorf("comment %q, cut off by a kill, is stored %d times", text, n)
		} else if n == 1 {
			fig.commentsCutStored++
		}
	}
	for text := range p.down {
		if stored[text] != 0 {
			t.Errorf("comment %q, sent while the server was down, is stored", text)
		}
	}
	for text, code := range p.refused {
		t.Errorf("comment %q was answered %d", text, code)
	}
	for text, n := range stored {
		if !p.answered[text] && !p.cut[text] {
			t.Errorf("comment %q is stored %d times but was never sent", text, n)
		}
	}
	fig.commentsAnswered, fig.commentsCut = len(p.answered), len(p.cut)
}

// checkSubscribers: each sign-up answered is one subscriber, confirmed if
// its link was; each imported address is one confirmed subscriber.
func checkSubscribers(t *testing.T, svc *newsletter.Service, s *signups, bulk int, fig *crashFigures) {
	t.Helper()
	count, status := map[string]int{}, map[string]newsletter.Status{}
	err := svc.EachSubscriber(context.Background(), "", func(sub newsletter.Subscriber, a string) error {
		count[a]++
		status[a] = sub.Status
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.failures {
		t.Errorf("sign-up: %s", f)
	}
	want := map[string]newsletter.Status{}
	for _, a := range s.answered {
		want[a] = newsletter.Pending
	}
	for _, a := range s.confirmed {
		want[a] = newsletter.Confirmed
	}
	for i := range bulk {
		want[fmt.Sprintf("reader%04d@example.org", i)] = newsletter.Confirmed
	}
	for a, w := range want {
		switch n := count[a]; {
		case n == 0:
			fig.subsLost++
			t.Errorf("subscriber %s was answered but is not stored", a)
		case n > 1:
			fig.subsDup += n - 1
			t.Errorf("subscriber %s is stored %d times", a, n)
		case status[a] != w:
			t.Errorf("subscriber %s is %s, want %s", a, status[a], w)
		}
	}
	fig.signups, fig.confirmed, fig.noConfirmMail = len(s.answered), len(s.confirmed), len(s.noMail)
}

// checkDigest: every subscriber owed the digest got it and the store holds
// each delivery as sent.
func checkDigest(t *testing.T, st store.Store, week string, owed map[string]int64, got map[string]int, fig *crashFigures) {
	t.Helper()
	for a := range owed {
		switch n := got[a]; {
		case n == 0:
			fig.digestMissing++
			t.Errorf("%s never received the digest", a)
		case n > 1:
			fig.digestDupes += n - 1
		}
	}
	for a := range got {
		if _, ok := owed[a]; !ok {
			t.Errorf("%s received the digest but was not owed it", a)
		}
	}
	c, err := st.CountDeliveries(context.Background(), week)
	if err != nil {
		t.Fatal(err)
	}
	if c.Sent != len(owed) || c.Total() != len(owed) {
		t.Errorf("deliveries %+v, want %d sent and nothing else", c, len(owed))
	}
	fig.owed = len(owed)
}

// crashStore opens the store as the command line does, to read it back.
func crashStore(t *testing.T, storeURL, dir string) (store.Store, *newsletter.Service, func()) {
	t.Helper()
	a := &app{stdout: io.Discard, stderr: io.Discard}
	a.cfg = Config{Store: storeURL, Data: dir, BaseURL: "https://news.example.org", SMTPConnections: 1}
	st, err := a.openStore(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	svc, _, tr, err := a.newsletterService(st)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	return st, svc, func() { tr.Close(); st.Close() }
}

// digestCounts is how many digests (not confirmation mails) each address got.
func digestCounts(sink *mailtest.Server) map[string]int {
	got := map[string]int{}
	for _, m := range sink.Messages() {
		if m.Header.Get("List-Unsubscribe-Post") != "" {
			got[m.To]++
		}
	}
	return got
}

// settle waits until the sink has received nothing for 300 ms: a message
// whose end was sent before the kill is taken in by then.
func settle(sink *mailtest.Server) {
	for n := -1; n != sink.Count(); {
		n = sink.Count()
		time.Sleep(300 * time.Millisecond)
	}
}

// unrecorded counts the digests the sink received for owed subscribers whose
// delivery the store does not hold as sent: the messages in flight when the
// process died, which a resumed send sends again. seen keeps, per address,
// the copies counted already, so that no copy is counted twice.
func unrecorded(t *testing.T, storeURL, dir, week string, owed map[string]int64, got, seen map[string]int) int {
	t.Helper()
	st, _, closeStore := crashStore(t, storeURL, dir)
	defer closeStore()
	n := 0
	for a, id := range owed {
		if got[a] == 0 || seen[a] == got[a] {
			continue
		}
		d, err := st.Delivery(context.Background(), week, id)
		if err != nil {
			t.Fatalf("delivery of %s to %s: %v", week, a, err)
		}
		if d.State != newsletter.DeliverySent {
			n++
			seen[a] = got[a]
		}
	}
	return n
}

// waitSendDone waits until the store holds no delivery of week pending.
func waitSendDone(t *testing.T, storeURL, dir, week string) {
	t.Helper()
	st, _, closeStore := crashStore(t, storeURL, dir)
	defer closeStore()
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		c, err := st.CountDeliveries(context.Background(), week)
		if err != nil {
			t.Fatal(err)
		}
		if c.Pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the send is not done: %+v", c)
		}
	}
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}
