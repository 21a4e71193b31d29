package redistest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/store/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

func TestServerAnswers(t *testing.T) {
	u := redistest.Server(t)
	if !strings.Contains(u, "prefix=") || strings.Contains(u, ":6379") {
		t.Fatalf("unexpected URL %q", u)
	}
	opts, err := goredis.ParseURL(strings.Split(u, "?")[0])
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	if u2 := redistest.Server(t); u2 == u {
		t.Fatalf("two calls gave the same prefix: %q", u)
	}
}

func TestClusterIsReady(t *testing.T) {
	start := time.Now()
	u := redistest.Cluster(t)
	t.Logf("cluster ready in %v: %s", time.Since(start), u)
	addrs := strings.Split(strings.TrimPrefix(strings.Split(u, "?")[0], "redis-cluster://"), ",")
	if len(addrs) != 3 {
		t.Fatalf("want 3 nodes, got %q", addrs)
	}
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	ctx := context.Background()
	// Keys in different slots land on different nodes and all work.
	for _, k := range []string{"a", "b", "c", "d", "e", "f"} {
		if err := c.Set(ctx, "redistest-check:"+k, k, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	shards, err := c.ClusterShards(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(shards) != 3 {
		t.Fatalf("want 3 shards, got %d", len(shards))
	}
}

// A test binary that dies without running Main (a crash, a timeout, kill -9)
// must not leave its servers behind. The test runs itself as a child that
// starts a server and hangs, kills the child, and waits for the server to go.
func TestServersDieWithCrashedBinary(t *testing.T) {
	if os.Getenv("REDISTEST_CHILD") == "1" {
		fmt.Println("URL", redistest.Server(t))
		time.Sleep(time.Hour)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal exists on Linux only")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		redistest.Server(t) // skips or fails as configured
	}
	child := exec.Command(os.Args[0], "-test.run=^TestServersDieWithCrashedBinary$", "-test.v")
	// The child's files go under our temporary directory, which is removed.
	child.Env = append(os.Environ(), "REDISTEST_CHILD=1", "TMPDIR="+t.TempDir())
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var addr string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "URL "); ok {
			addr = strings.TrimPrefix(strings.Split(u, "/0?")[0], "redis://")
			break
		}
	}
	if addr == "" {
		child.Process.Kill()
		child.Wait()
		t.Fatal("the child printed no server URL")
	}
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("the child's server does not answer: %v", err)
	}
	child.Process.Kill()
	child.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(t.Context()).Err() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the server at %s outlived its test binary", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
