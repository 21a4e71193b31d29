package mail

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "outbox")
	tr, err := Open("", dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("outbox dir: %v, %v", fi.Mode(), err)
	}

	// 40 messages from 8 goroutines; pairs share a Message-ID (a resend).
	const n = 40
	sent := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			to := fmt.Sprintf("r%d@example.com", i)
			raw := render(t, to, i/2)
			if err := tr.Send(context.Background(), sender, to, raw); err != nil {
				t.Error(err)
			}
			mu.Lock()
			sent[to] = true
			mu.Unlock()
		})
	}
	wg.Wait()

	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{8}(-\d+)?\.eml$`)
	var names []string
	got := map[string]bool{}
	for _, e := range entries {
		names = append(names, e.Name())
		if !name.MatchString(e.Name()) {
			t.Errorf("file name %q", e.Name())
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v", e.Name(), fi.Mode(), err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		p := parseMessage(t, raw)
		to := p.header.Get("To")
		got[to[1:len(to)-1]] = true
	}
	if len(entries) != n || len(got) != n {
		t.Errorf("%d files for %d distinct recipients, want %d (leftover temp files? %q)", len(entries), len(got), n, names)
	}
	if !slices.IsSorted(names) {
		t.Errorf("ReadDir not sorted?")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(context.Background(), sender, "a@example.com", render(t, "a@example.com", 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
}

func TestOutboxRejectsBadAddresses(t *testing.T) {
	dir := t.TempDir()
	tr, err := Open("", dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(context.Background(), sender, "a@example.com\r\nBcc: b@example.com", render(t, "a@example.com", 1)); err == nil {
		t.Error("bad recipient accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("%d files written", len(entries))
	}
	if _, err := Open("", "", Options{}); err == nil {
		t.Error("no URL and no outbox accepted")
	}
}

func TestHeaderValue(t *testing.T) {
	raw := []byte("From: a@b.c\r\nmessage-id:  <x@y>\r\nSubject: s\r\n\r\nMessage-ID: <body@z>\r\n")
	if got := string(headerValue(raw, "Message-ID")); got != "<x@y>" {
		t.Errorf("got %q", got)
	}
	if got := headerValue(raw, "Date"); got != nil {
		t.Errorf("Date: got %q", got)
	}
}
