package mail

import "strings"

// Quoted-printable (RFC 2045 section 6.7) written by hand rather than with
// mime/quotedprintable, because the body is encoded in pieces: the text between
// placeholders once per Prepared, the URL once per recipient. Each piece starts
// at column 0 and every piece that is followed by a URL ends with a soft line
// break, so the pieces can be joined without re-encoding and no line grows past
// 76 characters.

const qpMaxCol = 75 // characters before the "=" of a soft line break

const upperHex = "0123456789ABCDEF"

// normalizeNewlines turns CRLF and lone CR into LF; the encoder writes CRLF.
func normalizeNewlines(s string) string {
	if strings.IndexByte(s, '\r') < 0 {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// appendQP appends the quoted-printable form of s, which has LF line ends and
// starts at column 0. If more follows on the same line (final is false) a soft
// line break is added at the end unless the output ends at column 0; if final,
// trailing white space is encoded so that no decoder strips it.
func appendQP(dst []byte, s string, final bool) []byte {
	col := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' {
			dst = append(dst, '\r', '\n')
			col = 0
			continue
		}
		literal := c >= '!' && c <= '~' && c != '='
		if c == ' ' || c == '\t' {
			// White space at the end of a line would be lost: encode it there.
			lineEnd := i+1 < len(s) && s[i+1] == '\n' || i+1 == len(s) && final
			literal = !lineEnd
		}
		n := 1
		if !literal {
			n = 3
		}
		if col+n > qpMaxCol {
			dst = append(dst, '=', '\r', '\n')
			col = 0
		}
		if literal {
			dst = append(dst, c)
		} else {
			dst = append(dst, '=', upperHex[c>>4], upperHex[c&15])
		}
		col += n
	}
	if !final && col > 0 {
		dst = append(dst, '=', '\r', '\n')
	}
	return dst
}
