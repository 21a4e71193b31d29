package feeds

import (
	"context"
	"net/netip"

	"github.com/mmcdole/gofeed"
)

// AllowDialForTest lets the given "ip:port" addresses through the
// private-address guard of a Fetcher (or Poller) built with o, so that a
// loopback test server can stand in for a public one while every other
// loopback address stays refused.
func AllowDialForTest(o *FetchOptions, addrs ...string) {
	allowed := make(map[netip.AddrPort]bool, len(addrs))
	for _, a := range addrs {
		allowed[netip.MustParseAddrPort(a)] = true
	}
	o.allowDial = func(ap netip.AddrPort) bool { return allowed[ap] }
}

// IngestForTest is the part of a poll after parsing: clean, classify, relate
// and store feed's items as src's stories (for benchmarks).
func IngestForTest(ctx context.Context, p *Poller, src Source, feed *gofeed.Feed) (int, error) {
	return p.ingest(ctx, src, feed)
}
