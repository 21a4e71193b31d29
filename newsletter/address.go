package newsletter

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on an address, from RFC 5321 (section 4.5.3.1) and its erratum 1690.
const (
	maxAddressLen = 254
	maxLocalLen   = 64
	maxLabelLen   = 63
)

// NormaliseAddress checks an address typed into a subscribe form and returns
// the form to store and send to: surrounding spaces removed, the domain in
// lower case, the part before the @ kept as typed. Anything else is refused
// with an *AddressError whose Reason tells the person what is wrong.
//
// It accepts only a bare address of plain ASCII: a dot-atom before the @
// (letters, digits and !#$%&'*+-/=?^_`{|}~, dots between them) and a host
// name after it (letters, digits and hyphens, in at least two dot-separated
// labels, the last not numeric). It refuses names and angle brackets, quoted
// or commented forms, IP-address domains, control characters (so no header
// can be smuggled in), invisible characters such as zero-width spaces, and
// every non-ASCII character: internationalised addresses need SMTPUTF8,
// which few servers support, and an internationalised domain is accepted in
// its ASCII "xn--" form. The address is never percent-decoded, so "%0d%0a"
// is three harmless characters in the part before the @ (and refused after
// it). A part before the @ containing "=?" is refused too: mail programs may
// decode it as an RFC 2047 encoded word and show something else.
//
// NormaliseAddress(out) == out for every address it returns.
func NormaliseAddress(raw string) (string, error) {
	addr := strings.Trim(raw, " ")
	switch {
	case addr == "":
		return "", refuse("Please enter your email address.")
	case len(addr) > maxAddressLen:
		return "", refuse("That address is too long: an email address has at most 254 characters.")
	case !utf8.ValidString(addr):
		return "", refuse("That address contains characters that are not valid text.")
	}
	if err := checkRunes(addr); err != nil {
		return "", err
	}
	switch {
	case strings.ContainsAny(addr, "<>"):
		return "", refuse("Please enter just the address, like name@example.org, without a name or angle brackets.")
	case strings.Contains(addr, " "):
		return "", refuse("An email address cannot contain spaces.")
	case strings.ContainsAny(addr, `"\`):
		return "", refuse("Addresses with quotation marks or backslashes are not supported.")
	case strings.ContainsAny(addr, "()"):
		return "", refuse("An email address cannot contain parentheses.")
	}
	local, domain, found := strings.Cut(addr, "@")
	switch {
	case !found:
		return "", refuse("That address has no @.")
	case strings.Contains(domain, "@"):
		return "", refuse("That address has more than one @.")
	case local == "":
		return "", refuse("Something is missing before the @.")
	case domain == "":
		return "", refuse("Something is missing after the @.")
	}
	if err := checkLocal(local); err != nil {
		return "", err
	}
	domain = strings.ToLower(domain)
	if err := checkDomain(domain); err != nil {
		return "", err
	}
	out := local + "@" + domain
	// A second opinion: the standard parser must read the same bare address.
	if a, err := mail.ParseAddress(out); err != nil || a.Name != "" || a.Address != out {
		return "", refuse("That address is not valid.")
	}
	return out, nil
}

// IndexForm is the form of a normalised address that its blind index is
// computed from: all of it in lower case, so that look-ups ignore case even
// though the address is sent to as typed.
func IndexForm(addr string) string { return strings.ToLower(addr) }

func refuse(reason string) *AddressError { return &AddressError{Reason: reason} }

// checkRunes refuses control, invisible and non-ASCII characters, each with a
// message of its own, so that a person whose address was pasted with a hidden
// character learns why it looks right and is still refused.
func checkRunes(addr string) error {
	nonASCII := false
	for _, r := range addr {
		switch {
		case unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp):
			return refuse("That address contains a line break or another control character.")
		case invisible(r):
			return refuse("That address contains an invisible character, such as a zero-width space; please type it again by hand.")
		case r != ' ' && unicode.Is(unicode.Zs, r):
			return refuse("An email address cannot contain spaces.")
		case r >= utf8.RuneSelf:
			nonASCII = true
		}
	}
	if nonASCII {
		return refuse("Please use an address made only of plain letters (a to z), digits and punctuation; addresses with accented or non-Latin characters are not supported.")
	}
	return nil
}

// invisible reports whether r draws nothing: format characters (zero-width
// space and joiners, bidi controls, soft hyphen, BOM, tags), variation
// selectors, the other default-ignorable code points (Hangul fillers,
// combining grapheme joiner) and the blank Braille pattern.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) ||
		r == '\u2800'
}

// checkLocal accepts a dot-atom (RFC 5322 section 3.2.3) of at most 64
// characters.
func checkLocal(local string) error {
	if len(local) > maxLocalLen {
		return refuse("The part before the @ is too long: it may have at most 64 characters.")
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c != '.' && !isAtext(c) {
			return refuse("The part before the @ can only hold letters, digits, dots and the characters ! # $ % & ' * + - / = ? ^ _ ` { | } ~.")
		}
	}
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return refuse("The part before the @ cannot start or end with a dot, or have two dots in a row.")
	}
	if strings.Contains(local, "=?") {
		return refuse("The part before the @ cannot contain \"=?\".")
	}
	return nil
}

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// checkDomain accepts a lower-case host name of letter-digit-hyphen labels
// (RFC 1123 section 2.1), at least two of them, the last not all digits (RFC
// 3696 section 2), which also rules out a dotted IPv4 address.
func checkDomain(domain string) error {
	if domain[0] == '[' {
		return refuse("Please use an address with a domain name after the @, not an IP address.")
	}
	for i := 0; i < len(domain); i++ {
		if c := domain[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return refuse("The part after the @ can only hold letters, digits, hyphens and dots.")
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return refuse("The part after the @ needs a dot, as in example.org.")
	}
	for _, l := range labels {
		switch {
		case l == "":
			return refuse("The part after the @ cannot start or end with a dot, or have two dots in a row.")
		case len(l) > maxLabelLen:
			return refuse("The part after the @ is not a valid domain name: it has more than 63 characters between two dots.")
		case l[0] == '-' || l[len(l)-1] == '-':
			return refuse("The part after the @ is not a valid domain name: a part of it starts or ends with a hyphen.")
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return refuse("The part after the @ is not a valid domain name: it cannot end in a number.")
	}
	return nil
}
