package store_test

import (
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "tidings.db")
	for _, raw := range []string{"sqlite:" + path, "sqlite://" + path} {
		s, err := store.Open(t.Context(), raw)
		if err != nil {
			t.Fatalf("Open(%q): %v", raw, err)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Error(err)
		}
		if _, err := s.Source(t.Context(), 1); !errors.Is(err, feeds.ErrNotFound) {
			t.Errorf("Source on a new store: %v, want ErrNotFound", err)
		}
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestOpenRedis(t *testing.T) {
	for name, raw := range map[string]func(testing.TB) string{"server": redistest.Server, "cluster": redistest.Cluster} {
		t.Run(name, func(t *testing.T) {
			s, err := store.Open(t.Context(), raw(t))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			if first, err := s.MarkOnce(t.Context(), "x"); err != nil || !first {
				t.Fatalf("MarkOnce on a fresh prefix = %v, %v", first, err)
			}
		})
	}
}

func TestOpenBadURLs(t *testing.T) {
	cases := []struct {
		url  string
		want string // a piece of the error message
	}{
		{"", "sqlite:PATH"},
		{"./data/tidings.db", "sqlite:PATH"},
		{"postgres://db.example/tidings", "unknown store"},
		{"sqlite:", "needs a file path"},
		{"sqlite://", "needs a file path"},
		{"redis:localhost:6380", "redis://host:port"},
		{"redis://", "bad address"},
		{"redis:///0", "bad address"},
		{"redis://127.0.0.1:notaport/0", "bad port"},
		{"redis://127.0.0.1:99999/0", "bad port"},
		{"redis://127.0.0.1:6380/first", "not a number"},
		{"redis://127.0.0.1:6380/0?pool=9", "unknown option"},
		{"redis://127.0.0.1:6380,127.0.0.1:6381", "redis-cluster://"},
		{"rediss://user:s3cret@127.0.0.1:6380/x", "not a number"},
		{"redis://user:s3cr%zzet@127.0.0.1:6380/0", "user:password"},
		{"redis-cluster://", "bad address"},
		{"redis-cluster://127.0.0.1:7000,/", "bad address"},
		{"redis-cluster://127.0.0.1:7000,,127.0.0.1:7001", "bad address"},
		{"redis-cluster://127.0.0.1:7000/2", "no database"},
		{"redis-cluster://127.0.0.1:7000?prefix=a&b=c", "unknown option"},
		{"redis://127.0.0.1:6380/0?%zz", "bad query"},
	}
	for _, c := range cases {
		s, err := store.Open(t.Context(), c.url)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", c.url)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%q) = %q, want it to mention %q", c.url, err, c.want)
		}
		if strings.Contains(err.Error(), "s3cr") {
			t.Errorf("Open(%q) error shows the password: %q", c.url, err)
		}
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return strconv.Itoa(port)
}

// A Redis that is down must fail fast, not hang start-up or a page.
func TestUnreachableRedisFailsFast(t *testing.T) {
	for _, raw := range []string{
		"redis://127.0.0.1:" + closedPort(t) + "/0",
		"redis-cluster://127.0.0.1:" + closedPort(t) + ",127.0.0.1:" + closedPort(t),
	} {
		start := time.Now()
		s, err := store.Open(t.Context(), raw)
		took := time.Since(start)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", raw)
		}
		t.Logf("Open(%q) failed in %v: %v", raw, took, err)
		if took > time.Second {
			t.Errorf("Open(%q) took %v to fail, want under 1s", raw, took)
		}
	}
}

// A server that accepts connections but never answers (hung, or a firewall
// black hole) must fail within the read timeouts too.
func TestHungRedisFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	start := time.Now()
	s, err := store.Open(t.Context(), "redis://"+l.Addr().String()+"/0")
	took := time.Since(start)
	if err == nil {
		s.Close()
		t.Fatal("Open of a silent server succeeded")
	}
	t.Logf("failed in %v: %v", took, err)
	if took > 2*time.Second {
		t.Errorf("took %v to fail, want about 1s", took)
	}
}
