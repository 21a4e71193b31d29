package comments

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/tidings/tidings/secrets"
)

// pureService is a service with keys, word lists and a fixed clock but no
// store or mail: enough for the functions that use neither.
func pureService(t testing.TB, moderation, block []string) *Service {
	t.Helper()
	keys, err := secrets.New(bytes.Repeat([]byte("k"), 32))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	return &Service{
		o:        Options{Keys: keys, Now: func() time.Time { return now }},
		base:     "https://news.example.org",
		moderate: newWordList(moderation),
		block:    newWordList(block),
	}
}

func TestCountLinks(t *testing.T) {
	for _, c := range []struct {
		body string
		want int
	}{
		{"", 0},
		{"no links here, just http and www", 0},
		{"https://example.org", 1},
		{"https://www.example.org", 1},
		{"HTTP://WWW.EXAMPLE.ORG", 1},
		{"www.example.org", 1},
		{"see www.a.example and https://b.example", 2},
		{"http://a.example http://b.example https://c.example", 3},
		{"awww.cute and wwww.x", 0},
		{"(www.a.example)", 1},
		{"http://a.example/?u=http://b.example", 2},
		{"https:// https://", 2},
		{"éwww.x", 0},
	} {
		if got := countLinks(c.body); got != c.want {
			t.Errorf("countLinks(%q) = %d, want %d", c.body, got, c.want)
		}
	}
}

func TestWordList(t *testing.T) {
	l := newWordList([]string{"Casino", "  buy now ", "", "!!", "casino", "Café"})
	if len(l) != 3 {
		t.Errorf("list = %q, want casino, buy now, café", l)
	}
	for text, want := range map[string]bool{
		"Best CASINO in town":     true,
		"casino.":                 true,
		"https://casino.example/": true,
		"casinos are fun":         false,
		"online-casino":           true,
		"the occasion":            false,
		"BUY-NOW!":                true,
		"buy\n\tnow":              true,
		"buy it now":              false,
		"buynow":                  false,
		"un CAFÉ noir":            true,
		"cafés":                   false,
		"nothing to see":          false,
		"":                        false,
		"buy":                     false,
		"casino\u200bfree":        false, // invisible characters join words…
		"cas\u00adi\u200bno":      true,  // …so they cannot hide one
	} {
		if got := l.matches(text); got != want {
			t.Errorf("matches(%q) = %v, want %v", text, got, want)
		}
	}
	if newWordList(nil).matches("anything at all") {
		t.Error("an empty list matches")
	}
}

func TestJudge(t *testing.T) {
	s := pureService(t, []string{"crypto giveaway"}, []string{"viagra"})
	base := signals{Author: "Ann", Body: "A fine story.", Elapsed: time.Minute}
	returningErr := errors.New("store down")
	for _, c := range []struct {
		name      string
		spoil     func(*signals)
		returning bool
		want      verdict
	}{
		{"first comment", nil, false, verdict{Pending, ReasonFirst}},
		{"returning commenter", nil, true, verdict{Approved, ""}},
		{"one link, returning", func(g *signals) { g.Body = "See https://www.eff.org/" }, true, verdict{Approved, ""}},
		{"website does not count", func(g *signals) { g.Website = "https://ann.example"; g.Body = "See https://a.example" }, true, verdict{Approved, ""}},
		{"two links, returning", func(g *signals) { g.Body = "https://a.example and www.b.example" }, true, verdict{Pending, "2 links"}},
		{"three links", func(g *signals) { g.Body = "http://a.example http://b.example http://c.example" }, true, verdict{Pending, "3 links"}},
		{"moderation phrase", func(g *signals) { g.Body = "Join the Crypto Giveaway!" }, true, verdict{Pending, ReasonModeration}},
		{"moderation phrase in the name", func(g *signals) { g.Author = "crypto-giveaway" }, true, verdict{Pending, ReasonModeration}},
		{"block word", func(g *signals) { g.Body = "cheap VIAGRA" }, true, verdict{Spam, ReasonBlock}},
		{"block word in the website", func(g *signals) { g.Website = "https://viagra.example" }, true, verdict{Spam, ReasonBlock}},
		{"block word beats links", func(g *signals) { g.Body = "viagra https://a.example https://b.example" }, true, verdict{Spam, ReasonBlock}},
		{"honeypot", func(g *signals) { g.Honeypot = "http://spam.example" }, true, verdict{Spam, ReasonHoneypot}},
		{"honeypot of one space", func(g *signals) { g.Honeypot = " " }, true, verdict{Spam, ReasonHoneypot}},
		{"too fast", func(g *signals) { g.Elapsed = 2*time.Second + 999*time.Millisecond }, true, verdict{Spam, ReasonTooFast}},
		{"just in time", func(g *signals) { g.Elapsed = 3 * time.Second }, true, verdict{Approved, ""}},
		{"no form time", func(g *signals) { g.Elapsed = 0 }, true, verdict{Spam, ReasonTooFast}},
		{"from the future", func(g *signals) { g.Elapsed = -time.Hour }, true, verdict{Spam, ReasonTooFast}},
	} {
		sig := base
		if c.spoil != nil {
			c.spoil(&sig)
		}
		asked := false
		got, err := s.judge(sig, func() (bool, error) { asked = true; return c.returning, nil })
		if err != nil || got != c.want {
			t.Errorf("%s: judge = %+v, %v; want %+v", c.name, got, err, c.want)
		}
		if asked != (c.want.Reason == "" || c.want.Reason == ReasonFirst) {
			t.Errorf("%s: asked the store = %v", c.name, asked)
		}
	}
	if _, err := s.judge(base, func() (bool, error) { return false, returningErr }); !errors.Is(err, returningErr) {
		t.Errorf("store error: %v", err)
	}
}
