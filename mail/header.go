package mail

import (
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ErrHeaderInjection reports a header value that carries a line break or another
// control character: it would end the header early and let text pick new headers.
var ErrHeaderInjection = errors.New("mail: control character in header value")

const (
	maxLine       = 998 // RFC 5322 hard limit, without CRLF
	foldAt        = 78  // RFC 5322 recommended limit
	maxAddrLen    = 254 // RFC 5321 path limit minus the angle brackets
	maxLocalLen   = 64
	maxNameLen    = 256
	maxURLLen     = 900
	maxMsgIDLen   = 250
	maxSubjectLen = 2000
)

// checkControls rejects CR, LF and every other control character except tab.
func checkControls(field, s string) error {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return fmt.Errorf("%w: %s", ErrHeaderInjection, field)
		}
	}
	return nil
}

// isAtext reports whether c may appear in an RFC 5322 dot-atom (besides the dot).
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDotAtom reports whether s is a non-empty dot-atom: atext runs joined by single dots.
func checkDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '.' {
			if s[i-1] == '.' {
				return false
			}
			continue
		}
		if !isAtext(c) {
			return false
		}
	}
	return true
}

// checkDomain accepts host names made of letters, digits and hyphens (IDNs in
// their punycode form); address literals and non-ASCII names are refused.
func checkDomain(d string) bool {
	if d == "" || len(d) > 253 {
		return false
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkAddr validates a bare address more strictly than net/mail does: ASCII only,
// an unquoted dot-atom local part of at most 64 bytes, a host name, 254 bytes in all.
func checkAddr(addr string) error {
	if err := checkControls("address", addr); err != nil {
		return err
	}
	at := strings.LastIndexByte(addr, '@')
	if len(addr) > maxAddrLen || at < 1 || at > maxLocalLen ||
		!checkDotAtom(addr[:at]) || !checkDomain(addr[at+1:]) {
		return fmt.Errorf("mail: invalid address %q", addr)
	}
	return nil
}

// parseFrom splits "Name <addr>" or "addr" into a validated address.
func parseFrom(from string) (*netmail.Address, error) {
	if err := checkControls("From", from); err != nil {
		return nil, err
	}
	if checkAddr(from) == nil {
		return &netmail.Address{Address: from}, nil
	}
	a, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mail: invalid sender %q: %w", from, err)
	}
	if err := checkAddr(a.Address); err != nil {
		return nil, err
	}
	// An encoded display name may decode to line breaks: check what it decodes to.
	if err := checkControls("From name", a.Name); err != nil {
		return nil, err
	}
	if len(a.Name) > maxNameLen || !utf8.ValidString(a.Name) {
		return nil, fmt.Errorf("mail: invalid sender name %q", a.Name)
	}
	return a, nil
}

// envelopeAddr returns the bare address of "Name <addr>" or "addr".
func envelopeAddr(s string) (string, error) {
	if checkAddr(s) == nil {
		return s, nil
	}
	a, err := parseFrom(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// normMessageID validates id ("<left@right>" or "left@right") and returns it without brackets.
func normMessageID(id string) (string, error) {
	if err := checkControls("Message-ID", id); err != nil {
		return "", err
	}
	if len(id) >= 2 && id[0] == '<' && id[len(id)-1] == '>' {
		id = id[1 : len(id)-1]
	}
	at := strings.IndexByte(id, '@')
	if len(id) > maxMsgIDLen || at < 1 || !checkDotAtom(id[:at]) || !checkDotAtom(id[at+1:]) {
		return "", fmt.Errorf("mail: invalid Message-ID %q", id)
	}
	return id, nil
}

// checkURL accepts an absolute http or https URL made of printable ASCII without
// white space, quotes or angle brackets, so it fits in <...> in a header and in an
// HTML attribute. RFC 8058 one-click needs https; http is allowed for local setups.
func checkURL(u string) error {
	if err := checkControls("URL", u); err != nil {
		return err
	}
	if len(u) > maxURLLen {
		return fmt.Errorf("mail: URL longer than %d bytes", maxURLLen)
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' {
			return fmt.Errorf("mail: URL %q: character %q not allowed", u, c)
		}
	}
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Errorf("mail: URL: %w", err)
	}
	if (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return fmt.Errorf("mail: URL %q: want an absolute http(s) URL", u)
	}
	return nil
}

// subjectNeedsWords reports whether s must be sent as RFC 2047 encoded words:
// non-ASCII text, ASCII that a reader would mistake for an encoded word, or
// white space at either end, which readers strip from a plain header value.
func subjectNeedsWords(s string) bool {
	if s != strings.Trim(s, " \t") {
		return true
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x7f {
			return true
		}
	}
	return strings.Contains(s, "=?")
}

// appendField appends "Name: value" CRLF, folding long values at spaces. With
// quotes set, spaces inside a quoted string are kept (for address headers).
// Only a space that is followed by a non-space is a fold point, so no folded line
// is blank and unfolding gives back the value exactly.
func appendField(dst []byte, name, value string, quotes bool) ([]byte, error) {
	start := len(dst)
	dst = append(dst, name...)
	dst = append(dst, ':')
	col := len(name) + 1
	inQuote, esc := false, false
	tok := 0 // start of the pending token (it begins with the space before it)
	for i := 0; i <= len(value); i++ {
		if i < len(value) {
			c := value[i]
			switch {
			case esc:
				esc = false
				continue
			case quotes && inQuote && c == '\\':
				esc = true
				continue
			case quotes && c == '"':
				inQuote = !inQuote
				continue
			case c != ' ' || inQuote || i == 0 || i+1 == len(value) || value[i+1] == ' ':
				continue
			}
		}
		// value[tok:i] is the next piece; it is written after a space.
		piece := value[tok:i]
		if tok > 0 {
			piece = value[tok+1 : i]
		}
		if col+1+len(piece) > foldAt && col > len(name)+1 {
			dst = append(dst, '\r', '\n')
			col = 0
		}
		dst = append(dst, ' ')
		dst = append(dst, piece...)
		col += 1 + len(piece)
		tok = i
	}
	dst = append(dst, '\r', '\n')
	for line := range strings.SplitSeq(string(dst[start:]), "\r\n") {
		if len(line) > maxLine {
			return dst[:start], fmt.Errorf("mail: header %s too long", name)
		}
	}
	return dst, nil
}

// appendQWords appends s as RFC 2047 "Q" encoded words of at most 66 characters,
// separated by spaces, never splitting a UTF-8 sequence. Spaces become "_" and so
// are kept: the white space between adjacent encoded words is dropped on decoding.
func appendQWords(dst []byte, s string) []byte {
	const prefix, suffix, maxWord = "=?utf-8?q?", "?=", 66
	const hex = "0123456789ABCDEF"
	dst = append(dst, prefix...)
	n := len(prefix)
	var enc [4 * 3]byte
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		e := enc[:0]
		for _, c := range []byte(s[i : i+size]) {
			switch {
			case c == ' ':
				e = append(e, '_')
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
				c == '!', c == '*', c == '+', c == '-', c == '/':
				e = append(e, c)
			default:
				e = append(e, '=', hex[c>>4], hex[c&15])
			}
		}
		if n+len(e)+len(suffix) > maxWord {
			dst = append(dst, suffix...)
			dst = append(dst, ' ')
			dst = append(dst, prefix...)
			n = len(prefix)
		}
		dst = append(dst, e...)
		n += len(e)
		i += size
	}
	return append(dst, suffix...)
}
