// Package redistest starts real redis-server processes for tests: one server
// and one 3-master cluster per test binary, each started on first use on free
// loopback ports (never 6379) in a temporary directory, with persistence off.
// Tests share them and keep apart by key prefix: every call hands out a URL
// with a prefix of its own, so no test ever needs FLUSHALL.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// Main stops the servers when the tests end. A binary that crashes or is
// killed never gets there; on Linux the servers are started with a
// parent-death signal (SIGKILL), so they die with it anyway.
//
// Without redis-server on PATH the helpers skip the test, unless the
// environment variable TIDINGS_TEST_REQUIRE (a comma list) names "redis" (for
// Server) or "cluster" (for Cluster): then the test fails, as in CI.
package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// RequireEnv names the environment variable that turns a skip into a failure.
const RequireEnv = "TIDINGS_TEST_REQUIRE"

var (
	mu       sync.Mutex
	baseDir  string // temporary directory holding every server's files
	procs    []proc // every server started, stopped by Stop
	server   string // address of the shared server, once started
	srvErr   error
	cluster  []string // addresses of the shared cluster's nodes
	clsErr   error
	prefixes atomic.Int64
)

// Main runs the tests and then stops every server they started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop kills every server started so far and removes their files. Main calls
// it; call it yourself only from a TestMain that cannot use Main.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range procs {
		// Nothing is persisted, so there is nothing to shut down gracefully.
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	procs = nil
	if baseDir != "" {
		_ = os.RemoveAll(baseDir)
		baseDir = ""
	}
	server, srvErr, cluster, clsErr = "", nil, nil, nil
}

// Server returns the URL of the shared server with a fresh key prefix:
// redis://127.0.0.1:PORT/0?prefix=P.
func Server(t testing.TB) string {
	t.Helper()
	need(t, "redis")
	mu.Lock()
	if server == "" && srvErr == nil {
		server, srvErr = startServer()
	}
	addr, err := server, srvErr
	mu.Unlock()
	if err != nil {
		t.Fatalf("redistest: start redis-server: %v", err)
	}
	return "redis://" + addr + "/0?prefix=" + url.QueryEscape(newPrefix())
}

// Cluster returns the URL of the shared 3-master cluster with a fresh key
// prefix: redis-cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3?prefix=P.
func Cluster(t testing.TB) string {
	t.Helper()
	need(t, "cluster")
	mu.Lock()
	if cluster == nil && clsErr == nil {
		cluster, clsErr = startCluster()
	}
	addrs, err := cluster, clsErr
	mu.Unlock()
	if err != nil {
		t.Fatalf("redistest: start redis cluster: %v", err)
	}
	return "redis-cluster://" + strings.Join(addrs, ",") + "?prefix=" + url.QueryEscape(newPrefix())
}

func newPrefix() string {
	return "t" + strconv.FormatInt(prefixes.Add(1), 10) + ":"
}

// need skips (or, when required, fails) the test if redis-server is missing.
func need(t testing.TB, what string) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err == nil {
		return
	}
	for _, w := range strings.Split(os.Getenv(RequireEnv), ",") {
		if strings.TrimSpace(w) == what {
			t.Fatalf("redistest: redis-server is not on PATH, and %s=%q requires %s", RequireEnv, os.Getenv(RequireEnv), what)
		}
	}
	t.Skipf("redistest: redis-server is not on PATH; install it (e.g. apt-get install redis-server) to run the %s tests", what)
}

// startServer starts the shared plain server. Called with mu held.
func startServer() (string, error) {
	var last error
	for range 5 { // a port found free may be taken before the server binds it
		port, err := freePort(false)
		if err != nil {
			return "", err
		}
		if err := launch(port); err != nil {
			last = err
			continue
		}
		return addrOf(port), nil
	}
	return "", last
}

// startCluster starts three cluster-enabled nodes, gives each a third of the
// slots, introduces them and waits until every node reports cluster_state:ok.
// Called with mu held.
func startCluster() ([]string, error) {
	var addrs []string
	for len(addrs) < 3 {
		port, err := freePort(true)
		if err != nil {
			return nil, err
		}
		if slices.Contains(addrs, addrOf(port)) {
			continue
		}
		if err := launch(port, "--cluster-enabled", "yes",
			"--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"); err != nil {
			continue // most likely the port was taken meanwhile; try another
		}
		addrs = append(addrs, addrOf(port))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clients := make([]*goredis.Client, len(addrs))
	for i, a := range addrs {
		clients[i] = goredis.NewClient(&goredis.Options{Addr: a})
		defer clients[i].Close()
	}
	const slots = 16384
	for i, c := range clients {
		lo, hi := i*slots/len(clients), (i+1)*slots/len(clients)-1
		if err := c.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			return nil, fmt.Errorf("node %s: set config epoch: %w", addrs[i], err)
		}
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			return nil, fmt.Errorf("node %s: add slots: %w", addrs[i], err)
		}
	}
	for _, a := range addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		if err := clients[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			return nil, fmt.Errorf("cluster meet %s: %w", a, err)
		}
	}
	for i, c := range clients {
		if err := waitFor(ctx, func() bool {
			info, err := c.ClusterInfo(ctx).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:3")
		}); err != nil {
			return nil, fmt.Errorf("node %s never reported cluster_state:ok: %w", addrs[i], err)
		}
	}
	return addrs, nil
}

// launch starts redis-server on port with extra arguments and waits until it
// answers PING, or fails if it exits first.
func launch(port int, extra ...string) error {
	if baseDir == "" {
		d, err := os.MkdirTemp("", "tidings-redistest-")
		if err != nil {
			return err
		}
		baseDir = d
	}
	dir := filepath.Join(baseDir, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	args := append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	}, extra...)
	cmd := exec.Command("redis-server", args...)
	cmd.SysProcAttr = procAttr()
	if err := spawn(cmd); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	c := goredis.NewClient(&goredis.Options{Addr: addrOf(port), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := waitFor(ctx, func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		return c.Ping(ctx).Err() == nil
	})
	select {
	case <-exited:
		err = errors.New("it exited")
	default:
	}
	if err != nil {
		_ = cmd.Process.Kill()
		<-exited
		log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
		return fmt.Errorf("redis-server on port %d did not start: %w\n%s", port, err, lastLines(string(log), 5))
	}
	procs = append(procs, proc{cmd: cmd, exited: exited})
	return nil
}

// proc is a running server; exited is closed once it has been reaped.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// waitFor polls cond every few milliseconds until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

// freePort returns a loopback port that was free a moment ago; for a cluster
// node, its bus port (+10000) must be free too, so it must be ≤ 55535.
func freePort(withBus bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if port == 6379 || port == 16379 || withBus && port > 55535 {
			continue
		}
		if withBus {
			bus, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
			if err != nil {
				continue
			}
			bus.Close()
		}
		return port, nil
	}
	return 0, errors.New("no free port found")
}

func addrOf(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// spawnJobs carries processes to start to the spawner goroutine.
var (
	spawnOnce sync.Once
	spawnJobs = make(chan spawnJob)
)

type spawnJob struct {
	cmd  *exec.Cmd
	done chan error
}

// spawn starts cmd from one OS thread that never exits, because the kernel's
// parent-death signal fires when the starting thread ends, not the process.
func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the binary
			for j := range spawnJobs {
				j.done <- j.cmd.Start()
			}
		}()
	})
	done := make(chan error)
	spawnJobs <- spawnJob{cmd: cmd, done: done}
	return <-done
}

// Dump reads every key and the value of every key, by type, from each server
// a redis:// or redis-cluster:// URL names (on a cluster, each master listed),
// for tests that check what a store holds at rest.
func Dump(t testing.TB, rawURL string) []byte {
	t.Helper()
	ctx := context.Background()
	// The host part, by hand: url.Parse refuses a cluster's list of hosts.
	_, rest, _ := strings.Cut(rawURL, "://")
	hosts, _, _ := strings.Cut(rest, "?")
	hosts, _, _ = strings.Cut(hosts, "/")
	var out []byte
	for _, addr := range strings.Split(hosts, ",") {
		c := goredis.NewClient(&goredis.Options{Addr: addr})
		iter := c.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			out = append(out, k...)
			switch c.Type(ctx, k).Val() {
			case "string":
				out = append(out, c.Get(ctx, k).Val()...)
			case "hash":
				for f, v := range c.HGetAll(ctx, k).Val() {
					out = append(append(out, f...), v...)
				}
			case "zset":
				for _, m := range c.ZRange(ctx, k, 0, -1).Val() {
					out = append(out, m...)
				}
			case "set":
				for _, m := range c.SMembers(ctx, k).Val() {
					out = append(out, m...)
				}
			case "list":
				for _, m := range c.LRange(ctx, k, 0, -1).Val() {
					out = append(out, m...)
				}
			case "stream":
				for _, m := range c.XRange(ctx, k, "-", "+").Val() {
					for f, v := range m.Values {
						out = append(out, fmt.Sprint(f, v)...)
					}
				}
			}
		}
		err := iter.Err()
		c.Close()
		if err != nil {
			t.Fatalf("redistest: dumping %s: %v", addr, err)
		}
	}
	return out
}
