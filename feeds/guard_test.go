package feeds

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestRefusedAddr(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.1.2.3", "::1", // loopback
		"10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1", // RFC 1918
		"fc00::1", "fd12:3456::1", // unique local
		"169.254.169.254", "fe80::1", "fe80::1%eth0", // link-local, cloud metadata
		"0.0.0.0", "0.1.2.3", "::", // unspecified, "this network"
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::2", // multicast
		"100.64.0.1", "100.127.255.254", // carrier-grade NAT
		"255.255.255.255", "240.0.0.1", // reserved, broadcast
		"::ffff:127.0.0.1", "::ffff:10.1.2.3", "::ffff:169.254.169.254", // IPv4-mapped
		"::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a00:1", "2002:7f00:1::1", "2002:c0a8:101::", // embedded IPv4
		"64:ff9b:1::1", "2001:db8::1", "fec0::1",
	}
	allowed := []string{
		"93.184.216.34", "1.1.1.1", "8.8.8.8", "2606:4700:4700::1111", "2a00:1450:4001::200e",
		"100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.1", "192.169.0.1",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range refused {
		if !refusedAddr(netip.MustParseAddr(s)) {
			t.Errorf("refusedAddr(%s) = false, want true", s)
		}
	}
	for _, s := range allowed {
		if refusedAddr(netip.MustParseAddr(s)) {
			t.Errorf("refusedAddr(%s) = true, want false", s)
		}
	}
	if !refusedAddr(netip.Addr{}) {
		t.Error("the zero Addr must be refused")
	}
}

func TestGuardControl(t *testing.T) {
	g := dialGuard{}
	var pe *privateAddrError
	if err := g.control("tcp4", "127.0.0.1:80", nil); !errors.As(err, &pe) ||
		err.Error() != "address 127.0.0.1 is private; use --allow-private-feeds" {
		t.Errorf("control(127.0.0.1:80) = %v", err)
	}
	if err := g.control("tcp6", "[::ffff:10.0.0.1]:443", nil); err == nil {
		t.Error("IPv4-mapped private address allowed")
	}
	if err := g.control("tcp", "not an address", nil); err == nil {
		t.Error("an unreadable address must be refused")
	}
	if err := g.control("tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("public address refused: %v", err)
	}
	if err := (dialGuard{allowPrivate: true}).control("tcp4", "127.0.0.1:80", nil); err != nil {
		t.Errorf("allowPrivate: %v", err)
	}
}

// noLeaks fails t if goroutines started during the test are still running
// after it and its cleanups (servers, stores) are done. Call it first, so its
// cleanup runs last.
func noLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// countingServer counts the connections and requests that reach it.
type countingServer struct {
	*httptest.Server
	conns, requests atomic.Int64
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		h(w, r)
	}))
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.conns.Add(1)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func serveRSS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/rss+xml")
	_, _ = w.Write([]byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>`))
}

func reasonOf(t *testing.T, err error) string {
	t.Helper()
	var fe *FeedError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FeedError", err, err)
	}
	return fe.Reason
}

func TestFetchRefusesLoopbackBeforeConnecting(t *testing.T) {
	noLeaks(t)
	srv := newCountingServer(t, serveRSS)
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	f := NewFetcher(FetchOptions{})
	defer f.CloseIdleConnections()

	for _, u := range []string{srv.URL + "/feed", "http://localhost" + port + "/feed"} {
		_, err := f.Fetch(context.Background(), Source{URL: u})
		if r := reasonOf(t, err); !strings.Contains(r, " is private; use --allow-private-feeds") {
			t.Errorf("Fetch(%s) reason = %q", u, r)
		}
	}
	if c, r := srv.conns.Load(), srv.requests.Load(); c != 0 || r != 0 {
		t.Errorf("%d connections and %d requests reached the server, want none", c, r)
	}
}

func TestFetchRefusesRedirectToPrivate(t *testing.T) {
	noLeaks(t)
	private := newCountingServer(t, serveRSS)
	public := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, private.URL+"/feed", http.StatusFound)
	})
	var opts FetchOptions
	AllowDialForTest(&opts, public.Listener.Addr().String())
	f := NewFetcher(opts)
	defer f.CloseIdleConnections()

	_, err := f.Fetch(context.Background(), Source{URL: public.URL + "/feed"})
	if r := reasonOf(t, err); r != "address 127.0.0.1 is private; use --allow-private-feeds" {
		t.Errorf("reason = %q", r)
	}
	if public.requests.Load() != 1 {
		t.Errorf("public server got %d requests, want 1", public.requests.Load())
	}
	if c := private.conns.Load(); c != 0 {
		t.Errorf("%d connections reached the private server, want none", c)
	}
}

func TestFetchIgnoresProxyFromEnvironment(t *testing.T) {
	noLeaks(t)
	// A proxy would hide the feed's address from the guard; it must not be used.
	t.Setenv("HTTP_PROXY", "http://192.0.2.1:3128")
	t.Setenv("http_proxy", "http://192.0.2.1:3128")
	srv := newCountingServer(t, serveRSS)
	f := NewFetcher(FetchOptions{AllowPrivate: true})
	defer f.CloseIdleConnections()
	res, err := f.Fetch(context.Background(), Source{URL: srv.URL + "/feed"})
	if err != nil || res.Status != FetchOK {
		t.Fatalf("Fetch = %+v, %v", res, err)
	}
	if srv.requests.Load() != 1 {
		t.Errorf("server got %d requests, want 1", srv.requests.Load())
	}
}
