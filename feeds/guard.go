package feeds

import (
	"fmt"
	"net/netip"
	"syscall"
)

// The guard refuses to connect to addresses inside the machine or its private
// networks, so that a feed URL added by anyone with access to the admin pages
// (or a redirect, or a DNS name pointing at 127.0.0.1) cannot make the server
// probe its own neighbourhood. It runs on the address actually dialled, after
// name resolution and on every redirect hop, so neither can get around it.

// refusedPrefixes are ranges that the netip predicates below do not cover.
var refusedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking, often used inside networks
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved, and the broadcast address
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("2001::/32"),      // Teredo: tunnels to arbitrary IPv4
}

// Prefixes of IPv6 forms that carry an IPv4 address in their low 32 bits; the
// embedded address is checked as well.
var (
	nat64Prefix    = netip.MustParsePrefix("64:ff9b::/96")
	v4CompatPrefix = netip.MustParsePrefix("::/96") // deprecated IPv4-compatible
	// 6to4: 2002:AABB:CCDD:: carries AA.BB.CC.DD in bytes 2..5.
	sixToFourPrefix = netip.MustParsePrefix("2002::/16")
)

// refusedAddr reports whether ip is loopback, private, link-local,
// unspecified, multicast, carrier-grade NAT or another range that is not the
// public Internet, in any of its IPv4, IPv4-mapped or IPv4-embedding forms.
func refusedAddr(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("").Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsUnspecified() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return true
	}
	for _, p := range refusedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	if !ip.Is6() {
		return false
	}
	b := ip.As16()
	switch {
	case nat64Prefix.Contains(ip), v4CompatPrefix.Contains(ip):
		return refusedAddr(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFourPrefix.Contains(ip):
		return refusedAddr(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return false
}

// privateAddrError is returned by the guard for a refused address.
type privateAddrError struct {
	addr netip.Addr
}

func (e *privateAddrError) Error() string {
	return fmt.Sprintf("address %s is private; use --allow-private-feeds", e.addr.WithZone(""))
}

// dialGuard decides which dialled addresses a Fetcher may connect to.
type dialGuard struct {
	allowPrivate bool
	// allow, when set, lets chosen addresses through; only tests set it, to
	// have one loopback server stand in for a public one.
	allow func(netip.AddrPort) bool
}

// control is a net.Dialer Control function. It sees the resolved address
// just before the socket connects, so nothing is sent to a refused address.
func (g dialGuard) control(network, address string, _ syscall.RawConn) error {
	if g.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: an address we cannot read is an address we do not dial.
		return fmt.Errorf("feeds: refusing to dial unreadable address %q", address)
	}
	if g.allow != nil && g.allow(ap) {
		return nil
	}
	if refusedAddr(ap.Addr()) {
		return &privateAddrError{addr: ap.Addr()}
	}
	return nil
}
