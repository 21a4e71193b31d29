package redis

import (
	"net"
	"slices"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	cases := []struct {
		url      string
		addrs    []string
		user     string
		pass     string
		db       int
		tls      bool
		cluster  bool
		prefix   string
		hostname string // TLS server name
	}{
		{url: "redis://127.0.0.1:6390/0", addrs: []string{"127.0.0.1:6390"}, prefix: DefaultPrefix},
		{url: "redis://cache.internal/3", addrs: []string{"cache.internal:6379"}, db: 3, prefix: DefaultPrefix},
		{url: "redis://:pw@h:1", addrs: []string{"h:1"}, pass: "pw", prefix: DefaultPrefix},
		{url: "redis://app:p%40ss@h:1/2?prefix=site-a:", addrs: []string{"h:1"}, user: "app", pass: "p@ss", db: 2, prefix: "site-a:"},
		{url: "rediss://h.example:6380/1", addrs: []string{"h.example:6380"}, db: 1, tls: true, prefix: DefaultPrefix, hostname: "h.example"},
		{url: "REDIS://h:1", addrs: []string{"h:1"}, prefix: DefaultPrefix},
		{url: "redis://[::1]:7000/0", addrs: []string{"[::1]:7000"}, prefix: DefaultPrefix},
		{url: "redis-cluster://a:7000,b:7001,c:7002?prefix=x%3A", addrs: []string{"a:7000", "b:7001", "c:7002"}, cluster: true, prefix: "x:"},
		{url: "redis-cluster://u:p@a:7000", addrs: []string{"a:7000"}, user: "u", pass: "p", cluster: true, prefix: DefaultPrefix},
		{url: "redis://h:1/0?prefix=", addrs: []string{"h:1"}, prefix: ""},
		{url: "redis://u:p@ss@h:1", addrs: []string{"h:1"}, user: "u", pass: "p@ss", prefix: DefaultPrefix},
	}
	for _, c := range cases {
		o, prefix, err := parseURL(c.url)
		if err != nil {
			t.Errorf("parseURL(%q): %v", c.url, err)
			continue
		}
		if !slices.Equal(o.Addrs, c.addrs) || o.Username != c.user || o.Password != c.pass ||
			o.DB != c.db || (o.TLSConfig != nil) != c.tls || o.IsClusterMode != c.cluster || prefix != c.prefix {
			t.Errorf("parseURL(%q) = addrs %q user %q pass %q db %d tls %v cluster %v prefix %q",
				c.url, o.Addrs, o.Username, o.Password, o.DB, o.TLSConfig != nil, o.IsClusterMode, prefix)
		}
		if c.tls && o.TLSConfig.ServerName != c.hostname {
			t.Errorf("parseURL(%q): TLS server name %q, want %q", c.url, o.TLSConfig.ServerName, c.hostname)
		}
		if o.DialTimeout == 0 || o.ReadTimeout == 0 || o.WriteTimeout == 0 || !o.ContextTimeoutEnabled {
			t.Errorf("parseURL(%q): timeouts not set: %+v", c.url, o)
		}
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://127.0.0.1:6390/0", "rediss://u:p@h:1/2?prefix=a", "redis-cluster://a:1,b:2",
		"redis://[::1]:7000", "redis://", "redis-cluster://,,", "redis://h:1/0?%zz", "x://y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		o, _, err := parseURL(raw)
		if err != nil {
			if strings.Contains(raw, "s3cret") && strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("error shows the password: %v", err)
			}
			return
		}
		if len(o.Addrs) == 0 {
			t.Fatalf("parseURL(%q) accepted no address", raw)
		}
		for _, a := range o.Addrs {
			if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
				t.Fatalf("parseURL(%q) accepted address %q", raw, a)
			}
		}
	})
}
