package comments

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestOwnToken(t *testing.T) {
	s := pureService(t, nil, nil)
	if s.OwnToken(nil) != "" || s.OwnToken([]int64{0, -1}) != "" {
		t.Error("a token for no IDs")
	}
	tok := s.OwnToken([]int64{7, 3, 7})
	if got := s.ParseOwnToken(tok); fmt.Sprint(got) != "[3 7]" {
		t.Errorf("ParseOwnToken = %v, want [3 7]", got)
	}
	var many []int64
	for i := range int64(25) {
		many = append(many, 1000+i)
	}
	tok = s.OwnToken(many)
	if got := s.ParseOwnToken(tok); fmt.Sprint(got) != fmt.Sprint(many[5:]) {
		t.Errorf("ParseOwnToken of 25 IDs = %v, want the last 20", got)
	}
	// Appending to an old cookie, as views do.
	tok = s.OwnToken(append(s.ParseOwnToken(tok), 2000))
	if got := s.ParseOwnToken(tok); len(got) != OwnMax || got[OwnMax-1] != 2000 || got[0] != 1006 {
		t.Errorf("after appending: %v", got)
	}

	for _, bad := range []string{"", "x", tok + "A", strings.Replace(tok, ".", "", 1),
		s.o.Keys.Sign(purposeNotify, "3", time.Time{}), // another purpose
		s.o.Keys.Sign(purposeOwn, "3,x", time.Time{}),  // not IDs
		s.o.Keys.Sign(purposeOwn, "3", s.now()),        // expired
	} {
		if got := s.ParseOwnToken(bad); got != nil {
			t.Errorf("ParseOwnToken(%q) = %v, want nothing", bad, got)
		}
	}
	// The cookie lasts OwnValidity.
	later := *s
	later.o.Now = func() time.Time { return s.now().Add(OwnValidity + time.Second) }
	if got := later.ParseOwnToken(s.OwnToken([]int64{1})); got != nil {
		t.Errorf("a cookie older than %v still works: %v", OwnValidity, got)
	}
}

func TestNotifyToken(t *testing.T) {
	s := pureService(t, nil, nil)
	u := s.stopURL(42)
	tok, ok := strings.CutPrefix(u, "https://news.example.org/comments/stop?token=")
	if !ok {
		t.Fatalf("stop URL %q", u)
	}
	if id, err := s.notifyTarget(tok); id != 42 || err != nil {
		t.Errorf("notifyTarget = %d, %v", id, err)
	}
	later := *s
	later.o.Now = func() time.Time { return s.now().Add(10 * 365 * 24 * time.Hour) }
	if id, err := later.notifyTarget(tok); id != 42 || err != nil {
		t.Errorf("ten years later: %d, %v; a stop link never expires", id, err)
	}
	for _, bad := range []string{"", tok[1:], s.OwnToken([]int64{42}), s.o.Keys.Sign(purposeNotify, "-4", time.Time{}), s.o.Keys.Sign(purposeNotify, "x", time.Time{})} {
		if _, err := s.notifyTarget(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("notifyTarget(%q) = %v, want ErrBadToken", bad, err)
		}
	}
}
