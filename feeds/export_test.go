package feeds

import "net/netip"

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
