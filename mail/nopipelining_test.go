package mail

import (
	"context"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
)

// plainServer is a minimal SMTP server that offers no extension at all, so
// the transport takes its one-command-at-a-time path (mailtest's go-smtp
// server always offers PIPELINING). It keeps each message's data as the
// client sent it, dot-stuffing undone, and counts the commands it read.
type plainServer struct {
	ln       net.Listener
	mu       sync.Mutex
	data     []string
	commands []string
	// ahead counts commands that arrived before the previous one was
	// answered: what a pipelining client does, and this server did not allow.
	ahead int
}

func newPlainServer(t *testing.T) *plainServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &plainServer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *plainServer) serve(c net.Conn) {
	defer c.Close()
	tc := textproto.NewConn(c)
	tc.PrintfLine("220 plain.example ESMTP")
	for {
		line, err := tc.ReadLine()
		if err != nil {
			return
		}
		verb := strings.ToUpper(strings.Fields(line + " x")[0])
		s.mu.Lock()
		s.commands = append(s.commands, verb)
		if tc.R.Buffered() > 0 {
			s.ahead++
		}
		s.mu.Unlock()
		switch verb {
		case "EHLO", "HELO":
			tc.PrintfLine("250 plain.example")
		case "MAIL", "RCPT", "RSET", "NOOP":
			tc.PrintfLine("250 ok")
		case "DATA":
			tc.PrintfLine("354 go ahead")
			b, err := tc.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.data = append(s.data, string(b))
			s.mu.Unlock()
			tc.PrintfLine("250 queued")
		case "QUIT":
			tc.PrintfLine("221 bye")
			return
		default:
			tc.PrintfLine("500 unknown")
		}
	}
}

// TestWithoutPipelining sends through a server that does not offer
// PIPELINING: the messages arrive whole, dots and all.
func TestWithoutPipelining(t *testing.T) {
	s := newPlainServer(t)
	tr := open(t, "smtp://"+s.ln.Addr().String()+"?tls=none", Options{Rate: -1, Connections: 1})
	head := "From: news@tidings.example\r\nTo: a@example.com\r\nSubject: plain\r\n\r\n"
	bodies := []string{head + "one\r\n.two\r\n..three\r\n", string(render(t, "b@example.com", 2))}
	for i, b := range bodies {
		if err := tr.Send(context.Background(), sender, "a@example.com", []byte(b)); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.data) != len(bodies) {
		t.Fatalf("the server got %d messages, want %d", len(s.data), len(bodies))
	}
	for i, b := range bodies {
		// ReadDotBytes turns CRLF into LF.
		if want := strings.ReplaceAll(b, "\r\n", "\n"); s.data[i] != want {
			t.Errorf("%d: the server got %q, want %q", i, s.data[i], want)
		}
	}
	// One command at a time: none was sent before the one before it was
	// answered.
	if s.ahead > 0 {
		t.Errorf("%d commands were sent ahead of a reply to a server without PIPELINING: %v", s.ahead, s.commands)
	}
	mails := 0
	for _, c := range s.commands {
		if c == "MAIL" {
			mails++
		}
	}
	if mails != len(bodies) {
		t.Errorf("%d MAIL commands for %d messages: %v", mails, len(bodies), s.commands)
	}
}
