package feeds

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// maxURLLen bounds a canonical URL. Longer links are almost always tracking
// payloads or garbage, and an unbounded key would bloat every store index.
const maxURLLen = 4096

// trackingParams are query parameters that identify a campaign, a click or a
// reader rather than the page, and so are dropped from canonical URLs. Any
// parameter whose name starts with "utm_" is dropped too. Names are compared
// case-insensitively.
//
// This is the one list of them; add new ones here.
var trackingParams = map[string]bool{
	"fbclid":      true, // Facebook click
	"gclid":       true, // Google Ads click
	"dclid":       true, // Google Display click
	"gbraid":      true, // Google Ads, iOS web-to-app
	"wbraid":      true, // Google Ads, iOS app-to-web
	"msclkid":     true, // Microsoft Ads click
	"mc_cid":      true, // Mailchimp campaign
	"mc_eid":      true, // Mailchimp subscriber
	"igshid":      true, // Instagram share
	"yclid":       true, // Yandex click
	"_hsenc":      true, // HubSpot
	"_hsmi":       true, // HubSpot
	"mkt_tok":     true, // Marketo
	"ref_src":     true, // Twitter/X referral
	"oly_enc_id":  true, // Omeda subscriber
	"oly_anon_id": true, // Omeda reader
	"vero_id":     true, // Vero subscriber
	"__s":         true, // Drip subscriber
	"s_cid":       true, // Adobe campaign
	"ncid":        true, // Yahoo/AOL campaign
}

// isTrackingParam reports whether the query parameter named name (still
// percent-encoded) is a tracking parameter.
func isTrackingParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	return strings.HasPrefix(name, "utm_") || trackingParams[name]
}

var errNotHTTP = errors.New("not an http or https URL")

// CanonicalURL returns the canonical form of raw, resolved against base (which
// may be nil): http or https only, lower-case host, no default port, no fragment,
// no tracking parameters (utm_*, fbclid, gclid, …). Anything else is an error.
//
// The host is converted to its ASCII (punycode) form, user information is
// dropped, an empty path becomes "/", dot segments are removed, and the
// remaining query parameters keep their order and their encoding.
func CanonicalURL(raw string, base *url.URL) (string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > maxURLLen {
		return "", fmt.Errorf("feeds: URL longer than %d bytes", maxURLLen)
	}
	ref, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("feeds: bad URL: %w", err)
	}
	if base == nil {
		base = &url.URL{}
	}
	// ResolveReference also removes "." and ".." segments from an absolute ref.
	u := base.ResolveReference(ref)
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("feeds: %q: %w", shortURL(raw), errNotHTTP)
	}
	if u.Opaque != "" {
		return "", fmt.Errorf("feeds: %q: URL has no host", shortURL(raw))
	}
	host, err := canonicalHost(u)
	if err != nil {
		return "", fmt.Errorf("feeds: %q: %w", shortURL(raw), err)
	}
	u.Host = host
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	u.RawQuery = cleanQuery(u.RawQuery)
	u.ForceQuery = false
	if u.Path == "" {
		u.Path, u.RawPath = "/", ""
	}
	out := u.String()
	if len(out) > maxURLLen {
		return "", fmt.Errorf("feeds: URL longer than %d bytes", maxURLLen)
	}
	return out, nil
}

// canonicalHost returns u's host in lower-case ASCII, with its port unless it
// is the scheme's default.
func canonicalHost(u *url.URL) (string, error) {
	name := strings.TrimRight(strings.ToLower(u.Hostname()), ".")
	if name == "" {
		return "", errors.New("URL has no host")
	}
	switch {
	case strings.Contains(name, ":"): // IPv6 literal
		ip := net.ParseIP(name)
		if ip == nil || strings.Contains(name, "%") {
			return "", errors.New("bad IPv6 host")
		}
		if ip.To4() != nil { // IPv4-mapped: write it as plain IPv4
			name = ip.String()
		} else {
			name = "[" + ip.String() + "]"
		}
	case isASCII(name):
		for i := 0; i < len(name); i++ {
			if !isHostByte(name[i]) {
				return "", fmt.Errorf("bad character %q in host", name[i])
			}
		}
	default:
		a, err := idna.Lookup.ToASCII(name)
		if err != nil || a == "" {
			return "", errors.New("bad international host name")
		}
		name = strings.TrimRight(a, ".")
		for i := 0; i < len(name); i++ {
			if !isHostByte(name[i]) {
				return "", errors.New("bad international host name")
			}
		}
	}
	port := u.Port()
	if port == "" {
		return name, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("bad port %q", port)
	}
	if (u.Scheme == "http" && n == 80) || (u.Scheme == "https" && n == 443) {
		return name, nil
	}
	return name + ":" + strconv.Itoa(n), nil
}

// isHostByte reports whether c may appear in a canonical ASCII host name.
// The underscore is not valid in DNS host names but occurs in real ones.
func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_'
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// cleanQuery drops tracking and empty parameters from a raw query, keeping the
// others in their order and with their own encoding, except that bytes which
// may not appear in a URL query are percent-encoded.
func cleanQuery(raw string) string {
	if raw == "" {
		return ""
	}
	kept := make([]string, 0, strings.Count(raw, "&")+1)
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if isTrackingParam(name) {
			continue
		}
		kept = append(kept, escapeQueryPart(part))
	}
	return strings.Join(kept, "&")
}

// escapeQueryPart percent-encodes the bytes of s that are not allowed in a URL
// query (spaces, quotes, angle brackets, non-ASCII bytes, stray "%"), leaving
// valid escapes and every other byte as they are, so it is idempotent.
func escapeQueryPart(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b.WriteByte(c)
		case c == '%' || c <= ' ' || c >= 0x7f || strings.IndexByte("\"<>\\^`{|}#", c) >= 0:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// shortURL trims a URL for an error message.
func shortURL(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
