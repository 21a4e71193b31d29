package comments_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/mail/mailtest"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

const (
	storyTitle = "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims"
	moderator  = "mod@news.example.org"
	baseURL    = "https://news.example.org"
)

// fixture is a comments service on a real SQLite store, mailing through a
// real SMTP conversation with an in-process server, on a clock tests move.
type fixture struct {
	svc     *comments.Service
	cs      comments.Store
	st      store.Store
	sink    *mailtest.Server
	keys    *secrets.Keys
	story   feeds.Story // visible
	hidden  feeds.Story // not visible
	other   feeds.Story // visible, another story
	logs    *syncBuffer
	clockMu sync.Mutex
	clock   time.Time
}

func (f *fixture) now() time.Time {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	f.clock = f.clock.Add(d)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixtureOptions struct {
	reject     func(from, to string) error
	moderation []string
	block      []string
	wrap       func(comments.Store) comments.Store
	metrics    *comments.Metrics
}

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "comments.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var cs comments.Store
	switch s := any(st).(type) {
	case comments.Store:
		cs = s
	default:
		t.Skip("the store does not keep comments yet")
	}
	if o.wrap != nil {
		cs = o.wrap(cs)
	}
	keys, err := secrets.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	sink := mailtest.NewServer(t, mailtest.ServerOptions{Reject: o.reject})
	tr, err := mail.Open(sink.URL()+"?tls=none", "", mail.Options{Rate: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	f := &fixture{cs: cs, st: st, sink: sink, keys: keys, logs: &syncBuffer{},
		clock: time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)}
	f.seedStories(t)
	f.svc, err = comments.NewService(comments.Options{
		Store: cs, Stories: st, Keys: keys, Mail: tr,
		SiteName: "Tidings", BaseURL: baseURL + "/", From: "Tidings <comments@news.example.org>",
		Moderator:       moderator,
		ModerationWords: o.moderation, BlockWords: o.block,
		Logger:  slog.New(slog.NewTextHandler(f.logs, nil)),
		Metrics: o.metrics,
		Now:     f.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) seedStories(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	src, err := f.st.AddSource(ctx, feeds.Source{URL: "https://eff.example.org/feed.xml", Title: "Digital Rights Desk", OnTopic: true})
	if err != nil {
		t.Fatal(err)
	}
	add := func(n int, title string, visible bool) feeds.Story {
		at := f.now().Add(-time.Duration(n) * time.Hour)
		s, _, err := f.st.AddStory(ctx, feeds.Story{
			SourceID: src.ID, GUID: "g-" + title, URL: "https://eff.example.org/" + strings.ReplaceAll(title, " ", "-"),
			Title: title, Summary: "What happened and why it matters.", PublishedAt: at, FirstSeenAt: at,
			Relevance: 0.9, Visible: visible,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	f.story = add(1, storyTitle, true)
	f.hidden = add(2, "A story about gardening", false)
	f.other = add(3, "Signal adds usernames", true)
}

// sub is a good submission on the fixture's story, its form served ten
// seconds ago.
func (f *fixture) sub(author, email, body string) comments.Submission {
	return comments.Submission{
		StoryID: f.story.ID, Author: author, Email: email, Body: body,
		FormTime: f.now().Add(-10 * time.Second), IP: "192.0.2.1",
	}
}

// submit submits and fails the test on an error; then the clock moves past
// the rate limit, so the next submission is judged on its own.
func (f *fixture) submit(t *testing.T, sub comments.Submission) comments.Comment {
	t.Helper()
	c, err := f.svc.Submit(context.Background(), sub)
	if err != nil {
		t.Fatalf("Submit(%+v): %v", sub, err)
	}
	f.advance(comments.RateInterval + time.Second)
	return c
}

// approved submits a comment and approves it as a moderator.
func (f *fixture) approved(t *testing.T, sub comments.Submission) comments.Comment {
	t.Helper()
	c := f.submit(t, sub)
	if c.Status == comments.Approved {
		return c
	}
	c, err := f.svc.Approve(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// to returns the messages delivered to addr.
func (f *fixture) to(addr string) []mailtest.Received {
	var out []mailtest.Received
	for _, m := range f.sink.Messages() {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// parts decodes a multipart/alternative message into its text and HTML.
func parts(t *testing.T, m mailtest.Received) (text, html string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(bytes.NewReader(m.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return text, html
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = strings.ReplaceAll(string(b), "\r\n", "\n")
		case "text/html":
			html = strings.ReplaceAll(string(b), "\r\n", "\n")
		}
	}
}

// subject decodes a message's subject.
func subject(t *testing.T, m mailtest.Received) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
