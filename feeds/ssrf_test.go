package feeds

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// TestSSRF sends the real Fetcher at loopback and private addresses in every
// spelling we know of, directly, through DNS names and through redirects from
// an allowed server, and counts the connections that reach the listeners
// waiting on loopback: without AllowPrivate there must be none, and every
// fetch must fail with a reason a person understands. With AllowPrivate the
// loopback rows must connect, which shows the counters can see a connection.
func TestSSRF(t *testing.T) {
	noLeaks(t)
	lab := newSSRFLab(t)
	p := strconv.Itoa(lab.port)
	private := func(addr string) string { return "address " + addr + " is private; use --allow-private-feeds" }
	notFound := func(host string) string { return "host " + host + " not found" }

	type row struct {
		url, form string
		reason    string // the reason Fetch must give without AllowPrivate
		// reaches is true for rows that lead to one of the lab's listeners:
		// with AllowPrivate they must connect. Rows leading elsewhere (other
		// private networks) are not fetched with AllowPrivate.
		reaches bool
	}
	rows := []row{
		{"http://127.0.0.1:" + p + "/feed", "IPv4 loopback", private("127.0.0.1"), true},
		{"http://127.0.0.2:" + p + "/feed", "another 127/8 address", private("127.0.0.2"), true},
		{"http://127.255.255.254:" + p + "/feed", "top of 127/8", private("127.255.255.254"), true},
		{"http://2130706433:" + p + "/feed", "decimal 127.0.0.1", notFound("2130706433"), false},
		{"http://0177.0.0.1:" + p + "/feed", "octal 127.0.0.1", notFound("0177.0.0.1"), false},
		{"http://0x7f.1:" + p + "/feed", "hex, short form (DNS answers 127.0.0.1)", private("127.0.0.1"), true},
		{"http://0x7f000001:" + p + "/feed", "hex 32-bit (DNS answers 127.0.0.1)", private("127.0.0.1"), true},
		{"http://127.1:" + p + "/feed", "short form 127.1", notFound("127.1"), false},
		{"http://127.0.0.1.:" + p + "/feed", "trailing dot", notFound("127.0.0.1."), false},
		{"http://[::1]:" + p + "/feed", "IPv6 loopback", private("::1"), lab.v6},
		{"http://[0:0:0:0:0:0:0:1]:" + p + "/feed", "IPv6 loopback, long form", private("::1"), lab.v6},
		{"http://[::ffff:127.0.0.1]:" + p + "/feed", "IPv4-mapped IPv6", private("127.0.0.1"), true},
		{"http://[::ffff:7f00:1]:" + p + "/feed", "IPv4-mapped IPv6, hex", private("127.0.0.1"), true},
		{"http://[::127.0.0.1]:" + p + "/feed", "IPv4-compatible IPv6", private("::7f00:1"), false},
		{"http://[64:ff9b::7f00:1]:" + p + "/feed", "NAT64 of 127.0.0.1", private("64:ff9b::7f00:1"), false},
		{"http://[2002:7f00:1::1]:" + p + "/feed", "6to4 of 127.0.0.1", private("2002:7f00:1::1"), false},
		{"http://localhost:" + p + "/feed", "name in /etc/hosts", private("127.0.0.1"), true},
		{"http://LocalHost:" + p + "/feed", "name in /etc/hosts, mixed case", private("127.0.0.1"), true},
		{"http://intranet.test:" + p + "/feed", "DNS name, A 127.0.0.1", private("127.0.0.1"), true},
		{"http://v6.intranet.test:" + p + "/feed", "DNS name, AAAA ::1", private("::1"), lab.v6},
		{"http://mixed.intranet.test:" + p + "/feed", "DNS name, A 10.0.0.1 and 127.0.0.1", private("*"), false},
		{"http://metadata.test/latest/meta-data/", "DNS name, A 169.254.169.254", private("169.254.169.254"), false},
		{"http://user@example.com@127.0.0.1:" + p + "/feed", "user info that looks like a host", private("127.0.0.1"), true},
		{"http://0.0.0.0:" + p + "/feed", "unspecified IPv4", private("0.0.0.0"), true},
		{"http://0:" + p + "/feed", "unspecified, one number", notFound("0"), false},
		{"http://[::]:" + p + "/feed", "unspecified IPv6", private("::"), lab.v6},
		{"http://10.0.0.1:" + p + "/feed", "RFC 1918 10/8", private("10.0.0.1"), false},
		{"http://172.16.0.1:" + p + "/feed", "RFC 1918 172.16/12", private("172.16.0.1"), false},
		{"http://172.31.255.254:" + p + "/feed", "RFC 1918, top of 172.16/12", private("172.31.255.254"), false},
		{"http://192.168.1.1:" + p + "/feed", "RFC 1918 192.168/16", private("192.168.1.1"), false},
		{"http://169.254.169.254/latest/meta-data/", "cloud metadata (link-local)", private("169.254.169.254"), false},
		{"http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata, IPv6 (ULA)", private("fd00:ec2::254"), false},
		{"http://[fc00::1]:" + p + "/feed", "unique local fc00::/7", private("fc00::1"), false},
		{"http://[fe80::1]:" + p + "/feed", "IPv6 link-local", private("fe80::1"), false},
		{"http://[fe80::1%25lo]:" + p + "/feed", "IPv6 link-local with zone", private("fe80::1"), false},
		{"http://100.64.0.1:" + p + "/feed", "carrier-grade NAT 100.64/10", private("100.64.0.1"), false},
		{"http://[::ffff:10.0.0.1]:" + p + "/feed", "IPv4-mapped RFC 1918", private("10.0.0.1"), false},
		{"http://[::ffff:a9fe:a9fe]/latest/meta-data/", "IPv4-mapped metadata, hex", private("169.254.169.254"), false},
	}
	// A server the Fetcher may reach stands in for a public one and redirects
	// to each private target: the redirect must be refused before connecting.
	redirects := []struct {
		to, form, reason string
		reaches          bool // with AllowPrivate, the redirect leads to a lab listener
	}{
		{"http://127.0.0.1:" + p + "/feed", "302 to 127.0.0.1", private("127.0.0.1"), true},
		{"http://localhost:" + p + "/feed", "302 to localhost", private("127.0.0.1"), true},
		{"http://intranet.test:" + p + "/feed", "302 to a name resolving to 127.0.0.1", private("127.0.0.1"), true},
		{"http://[::ffff:127.0.0.1]:" + p + "/feed", "302 to IPv4-mapped loopback", private("127.0.0.1"), true},
		{"http://[::1]:" + p + "/feed", "302 to ::1", private("::1"), lab.v6},
		{"http://0.0.0.0:" + p + "/feed", "302 to 0.0.0.0", private("0.0.0.0"), true},
		{"http://169.254.169.254/latest/meta-data/", "302 to cloud metadata", private("169.254.169.254"), false},
		{"http://192.168.1.1/", "302 to 192.168.1.1", private("192.168.1.1"), false},
		{"/hop?to=" + url.QueryEscape("http://127.0.0.2:"+p+"/feed"), "302 to itself, then 307 to 127.0.0.2",
			private("127.0.0.2"), true},
	}

	fetch := func(t *testing.T, opts FetchOptions, u string) (int64, error) {
		t.Helper()
		f := NewFetcher(opts)
		defer f.CloseIdleConnections()
		before := lab.accepted()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, err := f.Fetch(ctx, Source{URL: u})
		return lab.accepted() - before, err
	}
	var table strings.Builder // the table for bench/RELIABILITY.md, printed with -v
	table.WriteString("| address | form | without --allow-private-feeds | with it |\n|---|---|---|---|\n")
	for _, r := range rows {
		conns, err := fetch(t, FetchOptions{ConnectTimeout: 2 * time.Second}, r.url)
		got := ssrfReason(err)
		if conns != 0 {
			t.Errorf("%s (%s): %d connections reached the lab's listeners, want 0", r.url, r.form, conns)
		}
		if !reasonMatches(got, r.reason) {
			t.Errorf("%s (%s): reason %q, want %q", r.url, r.form, got, r.reason)
		}
		with := "not tried (no listener there)"
		if r.reaches {
			conns, _ := fetch(t, FetchOptions{AllowPrivate: true, ConnectTimeout: 2 * time.Second}, r.url)
			if conns == 0 {
				t.Errorf("%s (%s): no connection with AllowPrivate; the counters see nothing", r.url, r.form)
			}
			with = "connected (" + strconv.FormatInt(conns, 10) + ")"
		} else if strings.HasPrefix(r.reason, "host ") {
			conns, err := fetch(t, FetchOptions{AllowPrivate: true, ConnectTimeout: 2 * time.Second}, r.url)
			if conns != 0 || ssrfReason(err) != r.reason {
				t.Errorf("%s (%s) with AllowPrivate: %d connections, %v", r.url, r.form, conns, err)
			}
			with = "not resolved: " + ssrfReason(err)
		}
		table.WriteString("| `" + r.url + "` | " + r.form + " | refused, 0 connections: " + got + " | " + with + " |\n")
	}

	for _, r := range redirects {
		before := lab.public.requests.Load()
		conns, err := fetch(t, lab.publicOpts(FetchOptions{}), lab.public.URL+"/hop?to="+url.QueryEscape(r.to))
		got := ssrfReason(err)
		if conns != 0 {
			t.Errorf("redirect to %s: %d connections reached the lab's listeners, want 0", r.to, conns)
		}
		if !reasonMatches(got, r.reason) {
			t.Errorf("redirect to %s: reason %q, want %q", r.to, got, r.reason)
		}
		if lab.public.requests.Load() == before {
			t.Errorf("redirect to %s: the allowed server was never asked", r.to)
		}
		with := "not tried (no listener there)"
		if r.reaches {
			conns, _ := fetch(t, lab.publicOpts(FetchOptions{AllowPrivate: true}), lab.public.URL+"/hop?to="+url.QueryEscape(r.to))
			if conns == 0 {
				t.Errorf("redirect to %s with AllowPrivate: no connection", r.to)
			}
			with = "connected (" + strconv.FormatInt(conns, 10) + ")"
		}
		table.WriteString("| allowed server → `" + r.to + "` | " + r.form + " | refused, 0 connections: " + got + " | " + with + " |\n")
	}
	t.Logf("SSRF table (listeners on 127.0.0.1, 127.0.0.2, 127.255.255.254, ::1=%v, port %d):\n%s",
		lab.v6, lab.port, table.String())
}

// reasonMatches compares a reason with a wanted one in which "*" stands for
// any address (a name resolving to several addresses may be refused on any).
func reasonMatches(got, want string) bool {
	before, after, wild := strings.Cut(want, "*")
	if !wild {
		return got == want
	}
	return strings.HasPrefix(got, before) && strings.HasSuffix(got, after) && len(got) > len(want)
}

// ssrfReason is the FeedError reason of err, or err's text.
func ssrfReason(err error) string {
	var fe *FeedError
	switch {
	case err == nil:
		return "(no error)"
	case errors.As(err, &fe):
		return fe.Reason
	}
	return err.Error()
}

// ssrfLab is the neighbourhood an attacker would like to reach: listeners on
// several loopback addresses sharing one port, each counting the connections
// it accepts; a DNS server that maps test names to private addresses,
// installed as the process's resolver; and an allowed server that redirects.
type ssrfLab struct {
	port      int
	v6        bool
	listeners []*acceptCounter
	public    *countingServer
	publicAP  string
}

func newSSRFLab(t *testing.T) *ssrfLab {
	t.Helper()
	lab := &ssrfLab{}
	hosts := []string{"127.0.0.1", "127.0.0.2", "127.255.255.254", "::1"}
	for attempt := 0; ; attempt++ {
		lns, v6, err := listenAll(hosts)
		if err == nil {
			lab.v6 = v6
			for _, ln := range lns {
				lab.listeners = append(lab.listeners, serveCounted(t, ln))
			}
			break
		}
		if attempt == 20 {
			t.Fatalf("no port free on every loopback address: %v", err)
		}
	}
	lab.port = lab.listeners[0].Addr().(*net.TCPAddr).Port
	if !lab.v6 {
		t.Log("no IPv6 loopback here: the ::1 rows are checked for refusal only")
	}

	installTestResolver(t, map[string][]netip.Addr{
		"intranet.test.":       {netip.MustParseAddr("127.0.0.1")},
		"v6.intranet.test.":    {netip.MustParseAddr("::1")},
		"mixed.intranet.test.": {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("127.0.0.1")},
		"metadata.test.":       {netip.MustParseAddr("169.254.169.254")},
		"0x7f.1.":              {netip.MustParseAddr("127.0.0.1")},
		"0x7f000001.":          {netip.MustParseAddr("127.0.0.1")},
	})

	lab.public = newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		code := http.StatusFound
		if strings.HasPrefix(r.URL.Query().Get("to"), "http") && r.URL.Query().Has("second") {
			code = http.StatusTemporaryRedirect
		}
		to := r.URL.Query().Get("to")
		if strings.HasPrefix(to, "/hop?to=") { // a first hop back to this server
			to += "&second=1"
		}
		http.Redirect(w, r, to, code)
	})
	lab.publicAP = lab.public.Listener.Addr().String()
	return lab
}

// publicOpts lets the lab's redirecting server through the guard, and only it.
func (lab *ssrfLab) publicOpts(o FetchOptions) FetchOptions {
	o.ConnectTimeout = 2 * time.Second
	AllowDialForTest(&o, lab.publicAP)
	return o
}

// accepted is the number of connections the private listeners accepted.
func (lab *ssrfLab) accepted() int64 {
	var n int64
	for _, l := range lab.listeners {
		n += l.n.Load()
	}
	return n
}

// listenAll listens on one port on every host (IPv4 ones required, ::1 when
// the machine has it).
func listenAll(hosts []string) ([]net.Listener, bool, error) {
	first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
	if err != nil {
		return nil, false, err
	}
	port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
	lns := []net.Listener{first}
	v6 := false
	for _, h := range hosts[1:] {
		ln, err := net.Listen("tcp", net.JoinHostPort(h, port))
		if err != nil {
			if strings.Contains(h, ":") && !errors.Is(err, syscall.EADDRINUSE) {
				continue // no IPv6 loopback on this machine
			}
			for _, l := range lns {
				_ = l.Close()
			}
			return nil, false, err
		}
		if strings.Contains(h, ":") {
			v6 = true
		}
		lns = append(lns, ln)
	}
	return lns, v6, nil
}

// acceptCounter counts the connections accepted on a listener.
type acceptCounter struct {
	net.Listener
	n atomic.Int64
}

func (a *acceptCounter) Accept() (net.Conn, error) {
	c, err := a.Listener.Accept()
	if err == nil {
		a.n.Add(1)
	}
	return c, err
}

// serveCounted serves a small feed on ln, counting accepted connections.
func serveCounted(t *testing.T, ln net.Listener) *acceptCounter {
	t.Helper()
	ac := &acceptCounter{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(serveRSS), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ac)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return ac
}

// installTestResolver makes the process resolve names through a DNS server
// on loopback that answers names with the given addresses and anything else
// with NXDOMAIN; /etc/hosts is still read first. The old resolver comes back
// when t ends.
func installTestResolver(t *testing.T, names map[string][]netip.Addr) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { answerDNS(pc, names) })
	server := pc.LocalAddr().String()
	old := net.DefaultResolver
	net.DefaultResolver = &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "udp", server)
		},
	}
	t.Cleanup(func() {
		net.DefaultResolver = old
		_ = pc.Close()
		wg.Wait()
	})
}

// answerDNS serves DNS queries on pc until it is closed.
func answerDNS(pc net.PacketConn, names map[string][]netip.Addr) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(buf[:n])
		if err != nil {
			continue
		}
		q, err := p.Question()
		if err != nil {
			continue
		}
		addrs, known := names[strings.ToLower(q.Name.String())]
		rcode := dnsmessage.RCodeSuccess
		if !known {
			rcode = dnsmessage.RCodeNameError
		}
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rcode})
		_ = b.StartQuestions()
		_ = b.Question(q)
		_ = b.StartAnswers()
		for _, a := range addrs {
			rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
			switch {
			case a.Is4() && q.Type == dnsmessage.TypeA:
				_ = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
			case a.Is6() && q.Type == dnsmessage.TypeAAAA:
				_ = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
			}
		}
		msg, err := b.Finish()
		if err == nil {
			_, _ = pc.WriteTo(msg, from)
		}
	}
}
