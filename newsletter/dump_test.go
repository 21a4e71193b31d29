package newsletter_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// assertNoPlainAddress reads everything the store holds — every file of a
// SQLite database, every value of every Redis key — and fails if any of
// addrs appears in it in plain text, in any case.
func assertNoPlainAddress(t *testing.T, f *nlFixture, addrs []string) {
	t.Helper()
	var dump []byte
	switch {
	case strings.HasPrefix(f.url, "sqlite:"):
		path := strings.TrimPrefix(f.url, "sqlite:")
		matches, _ := filepath.Glob(path + "*") // the database, -wal and -shm
		for _, p := range matches {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			dump = append(dump, b...)
		}
	default:
		dump = redisDump(t, f.url)
	}
	if len(dump) < 1000 {
		t.Fatalf("the dump holds only %d bytes: nothing was read", len(dump))
	}
	low := bytes.ToLower(dump)
	for _, a := range addrs {
		if bytes.Contains(low, []byte(strings.ToLower(a))) {
			t.Errorf("the store holds %q in plain text", a)
		}
	}
	// The same dump does hold the stories, so it was read for real.
	if !bytes.Contains(dump, []byte("Court Rules Phone Searches")) {
		t.Error("the dump lacks a stored story title: it was not read whole")
	}
}

// redisDump reads the value of every key on every master, by type.
func redisDump(t *testing.T, rawURL string) []byte {
	t.Helper()
	ctx := context.Background()
	addrs := strings.Split(strings.TrimPrefix(strings.SplitN(strings.SplitN(rawURL, "?", 2)[0], "://", 2)[1], "/0"), ",")
	var out bytes.Buffer
	for _, addr := range addrs {
		c := goredis.NewClient(&goredis.Options{Addr: strings.TrimSuffix(addr, "/0")})
		iter := c.Scan(ctx, 0, "*", 1000).Iterator()
		for iter.Next(ctx) {
			k := iter.Val()
			out.WriteString(k)
			switch c.Type(ctx, k).Val() {
			case "string":
				out.WriteString(c.Get(ctx, k).Val())
			case "hash":
				for f, v := range c.HGetAll(ctx, k).Val() {
					out.WriteString(f + v)
				}
			case "zset":
				for _, m := range c.ZRangeWithScores(ctx, k, 0, -1).Val() {
					out.WriteString(m.Member.(string))
				}
			case "set":
				out.WriteString(strings.Join(c.SMembers(ctx, k).Val(), ""))
			case "list":
				out.WriteString(strings.Join(c.LRange(ctx, k, 0, -1).Val(), ""))
			}
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	return out.Bytes()
}
