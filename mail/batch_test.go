package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// chainServer is a minimal SMTP server that offers PIPELINING and can be
// told to refuse a recipient, to answer 451 to a message's end, or to drop
// the connection after a message's body without answering. At each
// message's end it waits up to a second for the client's next command
// before it answers, and counts the messages whose next envelope came
// without waiting for that answer: what a chaining client does.
type chainServer struct {
	ln        net.Listener
	refuse    map[string]bool // RCPT answered 550
	temporary map[string]bool // end of data answered 451
	drop      map[string]bool // connection dropped after the body, once
	dropFirst int             // this many connections closed before the greeting

	mu      sync.Mutex
	data    map[string][]string // recipient → bodies taken (dropped ones too)
	chained int
	conns   int
}

func newChainServer(t *testing.T) *chainServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &chainServer{ln: ln, refuse: map[string]bool{}, temporary: map[string]bool{},
		drop: map[string]bool{}, data: map[string][]string{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			early := s.conns <= s.dropFirst
			s.mu.Unlock()
			if early {
				c.Close()
				continue
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *chainServer) serve(c net.Conn) {
	defer c.Close()
	tc := textproto.NewConn(c)
	tc.PrintfLine("220 chain.example ESMTP")
	var rcpt string
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		switch verb {
		case "EHLO":
			tc.PrintfLine("250-chain.example")
			tc.PrintfLine("250 PIPELINING")
		case "MAIL", "RSET", "NOOP":
			rcpt = ""
			tc.PrintfLine("250 ok")
		case "RCPT":
			to := strings.TrimSuffix(strings.TrimPrefix(line[len("RCPT TO:"):], "<"), ">")
			if s.refuse[to] {
				tc.PrintfLine("550 no such user")
				continue
			}
			rcpt = to
			tc.PrintfLine("250 ok")
		case "DATA":
			if rcpt == "" {
				tc.PrintfLine("554 no valid recipients")
				continue
			}
			tc.PrintfLine("354 go ahead")
			b, err := tc.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.data[rcpt] = append(s.data[rcpt], string(b))
			drop := s.drop[rcpt]
			delete(s.drop, rcpt)
			s.mu.Unlock()
			if drop {
				return
			}
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := tc.R.Peek(1); err == nil {
				s.mu.Lock()
				s.chained++
				s.mu.Unlock()
			}
			c.SetReadDeadline(time.Time{})
			if s.temporary[rcpt] {
				tc.PrintfLine("451 try again later")
			} else {
				tc.PrintfLine("250 queued")
			}
		case "QUIT":
			tc.PrintfLine("221 bye")
			return
		default:
			tc.PrintfLine("500 unknown")
		}
	}
}

// outgoing is n messages to r0@example.com…, each with dot-stuffing to do.
func outgoing(t *testing.T, n int) []Outgoing {
	msgs := make([]Outgoing, n)
	for i := range msgs {
		to := fmt.Sprintf("r%d@example.com", i)
		msgs[i] = Outgoing{To: to, Raw: []byte("From: news@tidings.example\r\nTo: " + to +
			"\r\nSubject: chain\r\n\r\n.first line\r\nmessage " + fmt.Sprint(i) + "\r\n.\r\n..\r\n")}
	}
	return msgs
}

// sendEach runs SendEach and returns each message's outcome by index.
func sendEach(t *testing.T, tr Transport, msgs []Outgoing, stopAt int) map[int]error {
	t.Helper()
	got := map[int]error{}
	next := 0
	SendEach(context.Background(), tr, sender, msgs, func(i int, err error) bool {
		if i != next {
			t.Errorf("outcome of message %d came when %d was due", i, next)
		}
		next = i + 1
		got[i] = err
		return i != stopAt
	})
	return got
}

// TestSendEachChains: over a pipelining server, each message's body goes
// with the next message's envelope, and every message arrives whole.
func TestSendEachChains(t *testing.T) {
	s := newChainServer(t)
	tr := open(t, "smtp://"+s.ln.Addr().String()+"?tls=none", Options{Rate: -1, Connections: 1})
	msgs := outgoing(t, 8)
	got := sendEach(t, tr, msgs, -1)
	for i, m := range msgs {
		if err, ok := got[i]; !ok || err != nil {
			t.Errorf("message %d: outcome %v (given: %v)", i, err, ok)
		}
		want := strings.ReplaceAll(string(m.Raw), "\r\n", "\n")
		if d := s.data[m.To]; len(d) != 1 || d[0] != want {
			t.Errorf("%s got %q, want one %q", m.To, d, want)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The first message dials and goes alone; each later one rides behind
	// the body before it, except the last body, which nothing follows.
	if want := len(msgs) - 2; s.chained != want {
		t.Errorf("%d messages' ends came with the next envelope, want %d", s.chained, want)
	}
}

// TestSendEachFailures: a refused recipient, a temporary refusal of a
// message and a connection dropped after a body each fail only their own
// message; the message after the drop goes again on a new connection.
func TestSendEachFailures(t *testing.T) {
	s := newChainServer(t)
	s.refuse["r2@example.com"] = true
	s.temporary["r3@example.com"] = true
	s.drop["r4@example.com"] = true
	tr := open(t, "smtp://"+s.ln.Addr().String()+"?tls=none", Options{Rate: -1, Connections: 1})
	msgs := outgoing(t, 8)
	got := sendEach(t, tr, msgs, -1)
	for i := range msgs {
		err := got[i]
		switch i {
		case 2:
			if !IsPermanent(err) {
				t.Errorf("refused recipient: %v, want a permanent error", err)
			}
		case 3, 4:
			if !IsTemporary(err) {
				t.Errorf("message %d: %v, want a temporary error", i, err)
			}
		default:
			if err != nil {
				t.Errorf("message %d: %v", i, err)
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, m := range msgs {
		n := len(s.data[m.To])
		// The refused one never got its body sent; the others were taken
		// once, the dropped one too (its sender cannot know it was).
		if want := 1; i == 2 && n != 0 || i != 2 && n != want {
			t.Errorf("%s arrived %d times", m.To, n)
		}
	}
	if s.conns != 2 {
		t.Errorf("%d connections, want 2 (one more after the drop)", s.conns)
	}
}

// TestSendEachStops: when result says stop, no later message is sent, and
// the transport goes on working.
func TestSendEachStops(t *testing.T) {
	s := newChainServer(t)
	tr := open(t, "smtp://"+s.ln.Addr().String()+"?tls=none", Options{Rate: -1, Connections: 1})
	msgs := outgoing(t, 6)
	got := sendEach(t, tr, msgs, 2)
	if len(got) != 3 {
		t.Errorf("%d outcomes after a stop at message 2, want 3", len(got))
	}
	time.Sleep(100 * time.Millisecond) // anything sent wrongly has arrived
	s.mu.Lock()
	for i, m := range msgs {
		if n := len(s.data[m.To]); n != 1 && i <= 2 || n != 0 && i > 2 {
			t.Errorf("%s arrived %d times", m.To, n)
		}
	}
	s.mu.Unlock()
	if err := tr.Send(context.Background(), sender, "after@example.com", msgs[0].Raw); err != nil {
		t.Fatalf("send after a stop: %v", err)
	}
}

// TestDialAgainAfterDroppedGreeting: a connection closed before the
// greeting is dialled once more; two in a row fail the message as a
// temporary connect error.
func TestDialAgainAfterDroppedGreeting(t *testing.T) {
	for drops, ok := range map[int]bool{1: true, 2: false} {
		s := newChainServer(t)
		s.mu.Lock()
		s.dropFirst = drops
		s.mu.Unlock()
		tr := open(t, "smtp://"+s.ln.Addr().String()+"?tls=none", Options{Rate: -1, Connections: 1})
		err := tr.Send(context.Background(), sender, "r0@example.com", outgoing(t, 1)[0].Raw)
		var se *SendError
		switch {
		case ok && err != nil:
			t.Errorf("%d dropped greeting: %v", drops, err)
		case !ok && (!errors.As(err, &se) || se.Step != StepConnect || !IsTemporary(err)):
			t.Errorf("%d dropped greetings: %v, want a temporary connect error", drops, err)
		}
		s.mu.Lock()
		if s.conns != 2 {
			t.Errorf("%d dropped greetings: %d connections, want 2", drops, s.conns)
		}
		s.mu.Unlock()
	}
}
