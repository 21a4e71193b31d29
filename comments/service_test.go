package comments_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

var _ newsletter.CommentCounter = (*comments.Service)(nil)

func TestFirstCommentHeldThenReturningPublished(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	first := f.submit(t, f.sub("Ann", "Ann@Example.org", "Great reporting."))
	if first.Status != comments.Pending || first.Reason != "first comment" || first.Depth != 1 || first.ParentID != 0 {
		t.Fatalf("first comment: %+v", first)
	}
	if first.EmailIndex != f.keys.BlindIndex("ann@example.org") {
		t.Error("the index is not the blind index of the lower-cased address")
	}
	if addr, err := f.keys.Open(first.EmailSealed); err != nil || addr != "Ann@example.org" {
		t.Errorf("sealed address opens to %q, %v", addr, err)
	}
	if first.IPHash != f.keys.HashIP("192.0.2.1") || !first.CreatedAt.Equal(f.now().Add(-comments.RateInterval-time.Second)) {
		t.Errorf("IPHash %q, CreatedAt %v", first.IPHash, first.CreatedAt)
	}
	// The moderator hears of it; nobody else, and the mail never holds the
	// commenter's address.
	mods := f.to(moderator)
	if len(mods) != 1 || f.sink.Count() != 1 {
		t.Fatalf("%d mails to the moderator, %d in all", len(mods), f.sink.Count())
	}
	text, html := parts(t, mods[0])
	for _, want := range []string{storyTitle, "Ann", "first comment", "> Great reporting.", fmt.Sprintf("tidings comments approve %d", first.ID),
		baseURL + feeds.StoryPath(f.story.ID, storyTitle) + fmt.Sprintf("#comment-%d", first.ID)} {
		if !strings.Contains(text, want) {
			t.Errorf("moderator's text lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(html, "<p>Great reporting.</p>") || !strings.Contains(subject(t, mods[0]), storyTitle) {
		t.Errorf("moderator's HTML or subject: %s", html)
	}
	if strings.Contains(strings.ToLower(string(mods[0].Data)), "ann@example.org") {
		t.Error("the moderator's mail holds the commenter's address")
	}

	// Held, then approved: the next comment by the same name and address
	// (in another case) is published at once and mails nobody.
	if _, err := f.svc.Approve(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	second := f.submit(t, f.sub("Ann", "ann@EXAMPLE.org", "And another thing."))
	if second.Status != comments.Approved || second.Reason != "" {
		t.Errorf("returning commenter: %s %q", second.Status, second.Reason)
	}
	// The same address under another name is a first comment again, and so
	// is the same name with another address.
	for _, c := range []comments.Submission{f.sub("Annie", "ann@example.org", "Hi."), f.sub("Ann", "ann@example.net", "Hi.")} {
		if got := f.submit(t, c); got.Status != comments.Pending || got.Reason != "first comment" {
			t.Errorf("%s <%s>: %s %q", c.Author, c.Email, got.Status, got.Reason)
		}
	}
	if n := len(f.to(moderator)); n != 3 || f.sink.Count() != 3 {
		t.Errorf("%d mails to the moderator, %d in all; want 3", n, f.sink.Count())
	}
	pending, err := f.svc.Pending(ctx)
	if err != nil || len(pending) != 2 {
		t.Errorf("Pending = %d comments, %v; want 2", len(pending), err)
	}
}

func TestSpamAndHeldRules(t *testing.T) {
	f := newFixture(t, fixtureOptions{moderation: []string{"crypto giveaway"}, block: []string{"Viagra"}})
	// A returning commenter, so that only the rule under test holds a comment.
	f.approved(t, f.sub("Bob", "bob@example.org", "Hello."))
	before := len(f.to(moderator))
	for _, c := range []struct {
		name   string
		spoil  func(*comments.Submission)
		status comments.Status
		reason string
	}{
		{"honeypot", func(s *comments.Submission) { s.Honeypot = "https://spam.example" }, comments.Spam, "honeypot"},
		{"too fast", func(s *comments.Submission) { s.FormTime = f.now().Add(-2 * time.Second) }, comments.Spam, "too fast"},
		{"no form time", func(s *comments.Submission) { s.FormTime = time.Time{} }, comments.Spam, "too fast"},
		{"block word", func(s *comments.Submission) { s.Body = "Cheap viagra here" }, comments.Spam, "block word"},
		{"two links", func(s *comments.Submission) { s.Body = "See https://a.example and www.b.example" }, comments.Pending, "2 links"},
		{"moderation phrase", func(s *comments.Submission) { s.Body = "A CRYPTO GIVEAWAY for you" }, comments.Pending, "moderation word"},
		{"one link and a website", func(s *comments.Submission) { s.Website = "https://bob.example"; s.Body = "See https://www.eff.org/" }, comments.Approved, ""},
	} {
		sub := f.sub("Bob", "bob@example.org", "Hello again.")
		c.spoil(&sub)
		got := f.submit(t, sub)
		if got.Status != c.status || got.Reason != c.reason {
			t.Errorf("%s: %s %q, want %s %q", c.name, got.Status, got.Reason, c.status, c.reason)
		}
	}
	// Only the two held comments reach the moderator; spam does not.
	if n := len(f.to(moderator)) - before; n != 2 {
		t.Errorf("%d mails to the moderator, want 2", n)
	}
	spam, err := f.svc.List(context.Background(), comments.Filter{Statuses: []comments.Status{comments.Spam}})
	if err != nil || len(spam) != 4 {
		t.Errorf("spam folder: %d, %v; want 4", len(spam), err)
	}
}

func TestSubmitRefuses(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	bad := f.sub("", "not an address", "")
	bad.Website = "javascript:alert(1)"
	_, err := f.svc.Submit(ctx, bad)
	var fe *comments.FormError
	if !errors.As(err, &fe) || len(fe.Fields) != 4 {
		t.Fatalf("Submit = %v, want a FormError on four fields", err)
	}
	for _, field := range []string{"author", "email", "url", "comment"} {
		if fe.Fields[field] == "" {
			t.Errorf("no message for %q: %v", field, fe.Fields)
		}
	}
	for name, id := range map[string]int64{"hidden story": f.hidden.ID, "missing story": 999999, "story 0": 0, "story -1": -1} {
		sub := f.sub("Ann", "ann@example.org", "Hi.")
		sub.StoryID = id
		_, err := f.svc.Submit(ctx, sub)
		if !errors.Is(err, comments.ErrNotFound) || !errors.Is(err, feeds.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	// A story handed in by the caller is checked the same way, and one that
	// is not StoryID's is not trusted.
	for name, st := range map[string]feeds.Story{"hidden story given": f.hidden, "visible story given for a hidden ID": f.story} {
		sub := f.sub("Ann", "ann@example.org", "Hi.")
		sub.StoryID, sub.Story = f.hidden.ID, &st
		if _, err := f.svc.Submit(ctx, sub); !errors.Is(err, comments.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
	if all, _ := f.svc.List(ctx, comments.Filter{}); len(all) != 0 || f.sink.Count() != 0 {
		t.Errorf("refused submissions stored %d comments, sent %d mails", len(all), f.sink.Count())
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	submit := func(ip string) error {
		sub := f.sub("Ann", "ann@example.org", "Hi.")
		sub.IP = ip
		_, err := f.svc.Submit(ctx, sub)
		return err
	}
	if err := submit("192.0.2.7"); err != nil {
		t.Fatal(err)
	}
	f.advance(comments.RateInterval - time.Second)
	if err := submit("192.0.2.7"); !errors.Is(err, comments.ErrRateLimited) {
		t.Fatalf("second comment within %v: %v, want ErrRateLimited", comments.RateInterval, err)
	}
	if err := submit("2001:db8::1"); err != nil {
		t.Errorf("another client: %v", err)
	}
	// Another address of the same IPv6 /64 is the same client; another /64
	// is not.
	if err := submit("2001:db8::ffff:1"); !errors.Is(err, comments.ErrRateLimited) {
		t.Errorf("the same /64 at once: %v, want ErrRateLimited", err)
	}
	if err := submit("2001:db8:0:1::1"); err != nil {
		t.Errorf("another /64: %v", err)
	}
	// Nine more, each just over the interval apart: ten in the hour.
	for i := range comments.RateHourly - 1 {
		f.advance(comments.RateInterval + time.Second)
		if err := submit("192.0.2.7"); err != nil {
			t.Fatalf("comment %d of the hour: %v", i+2, err)
		}
	}
	f.advance(comments.RateInterval + time.Second)
	if err := submit("192.0.2.7"); !errors.Is(err, comments.ErrRateLimited) {
		t.Fatalf("comment %d in an hour: %v, want ErrRateLimited", comments.RateHourly+1, err)
	}
	f.advance(time.Hour - 9*(comments.RateInterval+time.Second))
	if err := submit("192.0.2.7"); err != nil {
		t.Errorf("an hour after the first: %v", err)
	}
}

func TestReplies(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	top := f.approved(t, f.sub("Ann", "ann@example.org", "Top."))
	reply := func(parent int64) comments.Submission {
		s := f.sub("Bob", "bob@example.org", "A reply.")
		s.ParentID = parent
		return s
	}
	r2 := f.approved(t, reply(top.ID))
	r3 := f.approved(t, reply(r2.ID))
	r4 := f.approved(t, reply(r3.ID))
	for _, c := range []struct {
		got           comments.Comment
		parent, depth int64
	}{{r2, top.ID, 2}, {r3, r2.ID, 3}, {r4, r2.ID, 3}} {
		if c.got.ParentID != c.parent || int64(c.got.Depth) != c.depth {
			t.Errorf("comment %d: parent %d depth %d, want %d %d", c.got.ID, c.got.ParentID, c.got.Depth, c.parent, c.depth)
		}
	}
	held := f.submit(t, f.sub("Cid", "cid@example.org", "Held."))
	onOther := f.sub("Ann", "ann@example.org", "Elsewhere.")
	onOther.StoryID = f.other.ID
	elsewhere := f.approved(t, onOther)
	for name, parent := range map[string]int64{"pending": held.ID, "other story": elsewhere.ID, "missing": 999999, "negative": -2} {
		_, err := f.svc.Submit(ctx, reply(parent))
		var fe *comments.FormError
		if !errors.As(err, &fe) || fe.Fields["parent"] == "" || len(fe.Fields) != 1 {
			t.Errorf("reply to a %s comment: %v, want a FormError on parent", name, err)
		}
	}
	rejected, err := f.svc.Reject(ctx, r3.ID)
	if err != nil || rejected.Status != comments.Rejected {
		t.Fatal(err)
	}
	if _, err := f.svc.Submit(ctx, reply(r3.ID)); err == nil {
		t.Error("a reply to a rejected comment was taken")
	}
}

// racingStore changes a comment's status just before the service does, as
// a second moderator would.
type racingStore struct {
	comments.Store
	race func()
}

func (r *racingStore) SetStatus(ctx context.Context, id int64, from, to comments.Status, at time.Time) (comments.Comment, error) {
	if r.race != nil {
		race := r.race
		r.race = nil
		race()
	}
	return r.Store.SetStatus(ctx, id, from, to, at)
}

func TestModeration(t *testing.T) {
	var racing *racingStore
	f := newFixture(t, fixtureOptions{wrap: func(s comments.Store) comments.Store {
		racing = &racingStore{Store: s}
		return racing
	}})
	ctx := context.Background()
	c := f.submit(t, f.sub("Ann", "ann@example.org", "Hi."))
	steps := []struct {
		do   func(context.Context, int64) (comments.Comment, error)
		want comments.Status
	}{
		{f.svc.MarkSpam, comments.Spam}, {f.svc.MarkSpam, comments.Spam}, {f.svc.Approve, comments.Approved},
		{f.svc.Reject, comments.Rejected}, {f.svc.Reject, comments.Rejected}, {f.svc.Approve, comments.Approved},
		{f.svc.Approve, comments.Approved}, {f.svc.MarkSpam, comments.Spam}, {f.svc.Reject, comments.Rejected},
	}
	for i, s := range steps {
		f.advance(time.Minute)
		got, err := s.do(ctx, c.ID)
		if err != nil || got.Status != s.want || got.ID != c.ID {
			t.Fatalf("step %d: %s, %v; want %s", i, got.Status, err, s.want)
		}
	}
	if counts, err := f.svc.CommentCounts(ctx, []int64{f.story.ID}); err != nil || counts[f.story.ID] != 0 {
		t.Errorf("CommentCounts = %v, %v", counts, err)
	}
	// Two moderators at once: the second loses with ErrConflict.
	racing.race = func() {
		if _, err := racing.Store.SetStatus(ctx, c.ID, comments.Rejected, comments.Spam, f.now()); err != nil {
			t.Error(err)
		}
	}
	if _, err := f.svc.Approve(ctx, c.ID); !errors.Is(err, comments.ErrConflict) {
		t.Errorf("Approve after a concurrent change: %v, want ErrConflict", err)
	}
	if got, _ := f.svc.Comment(ctx, c.ID); got.Status != comments.Spam {
		t.Errorf("after the race: %s, want spam", got.Status)
	}
	for name, do := range map[string]func(context.Context, int64) (comments.Comment, error){
		"Approve": f.svc.Approve, "Reject": f.svc.Reject, "MarkSpam": f.svc.MarkSpam, "Comment": f.svc.Comment,
	} {
		if _, err := do(ctx, 999999); !errors.Is(err, comments.ErrNotFound) {
			t.Errorf("%s of a missing comment: %v", name, err)
		}
	}
	if err := f.svc.Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, c.ID); !errors.Is(err, comments.ErrNotFound) {
		t.Errorf("second Delete: %v", err)
	}
}

func TestCountsAndForgetIPs(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	old := f.approved(t, f.sub("Ann", "ann@example.org", "One."))
	f.approved(t, f.sub("Ann", "ann@example.org", "Two."))
	f.submit(t, f.sub("Bob", "bob@example.org", "Held."))
	counts, err := f.svc.CommentCounts(ctx, []int64{f.story.ID, f.other.ID})
	if err != nil || counts[f.story.ID] != 2 || counts[f.other.ID] != 0 {
		t.Errorf("CommentCounts = %v, %v; want 2 and 0", counts, err)
	}
	f.advance(comments.IPRetention - 30*time.Second)
	recent := f.submit(t, f.sub("Cid", "cid@example.org", "New."))
	// The first three are older than 30 days by now, the last is not.
	n, err := f.svc.ForgetIPs(ctx)
	if err != nil || n != 3 {
		t.Errorf("ForgetIPs = %d, %v; want 3", n, err)
	}
	if c, _ := f.svc.Comment(ctx, old.ID); c.IPHash != "" {
		t.Error("an old IP hash was kept")
	}
	if c, _ := f.svc.Comment(ctx, recent.ID); c.IPHash == "" {
		t.Error("a recent IP hash was erased")
	}
}

func TestNewServiceOptions(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	good := comments.Options{Store: f.cs, Stories: f.st, Keys: f.keys, Mail: nilTransport{}}
	if _, err := comments.NewService(good); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, spoil := range map[string]func(*comments.Options){
		"no store":      func(o *comments.Options) { o.Store = nil },
		"no stories":    func(o *comments.Options) { o.Stories = nil },
		"no keys":       func(o *comments.Options) { o.Keys = nil },
		"no mail":       func(o *comments.Options) { o.Mail = nil },
		"bad base URL":  func(o *comments.Options) { o.BaseURL = "news.example.org" },
		"bad sender":    func(o *comments.Options) { o.From = "Tidings <nowhere" },
		"bad moderator": func(o *comments.Options) { o.Moderator = "mod at example.org" },
	} {
		o := good
		spoil(&o)
		if _, err := comments.NewService(o); err == nil || !strings.HasPrefix(err.Error(), "comments: ") {
			t.Errorf("%s: %v, want a comments: error", name, err)
		}
	}
}

// nilTransport is a transport that is never used (NewService only checks
// that there is one).
type nilTransport struct{}

func (nilTransport) Send(context.Context, string, string, []byte) error { return errors.New("unused") }
func (nilTransport) Close() error                                       { return nil }

func TestConcurrentSubmit(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sub := f.sub(fmt.Sprintf("Reader %d", i), fmt.Sprintf("reader%d@example.org", i), "At the same time.")
			sub.IP = fmt.Sprintf("192.0.2.%d", 10+i)
			_, errs[i] = f.svc.Submit(context.Background(), sub)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("submission %d: %v", i, err)
		}
	}
	pending, err := f.svc.Pending(context.Background())
	if err != nil || len(pending) != n || len(f.to(moderator)) != n {
		t.Errorf("%d pending (%v), %d mails to the moderator; want %d", len(pending), err, len(f.to(moderator)), n)
	}
}
