package secrets

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify and CheckFormToken.
var (
	// ErrBadToken means a token is malformed, forged, damaged or was signed
	// for another purpose.
	ErrBadToken = errors.New("secrets: bad token")
	// ErrExpired means an authentic token is past its expiry.
	ErrExpired = errors.New("secrets: token expired")
)

// maxToken bounds the tokens Verify looks at; a longer one is refused before
// any decoding.
const maxToken = 1024

// b64 is the token alphabet: URL-safe, no padding, and strict, so that each
// token has exactly one spelling.
var b64 = base64.RawURLEncoding.Strict()

// Sign makes a token that carries payload for one purpose (such as "confirm"
// or "unsubscribe") until expires; a zero expires never expires. The token is
// base64url(expiry as 8 big-endian bytes of Unix seconds, then payload), a
// dot, and base64url(HMAC-SHA256 of purpose, a 0 byte, payload and expiry).
// The payload is readable by anyone holding the token: sign, don't hide. Keep
// it short (an ID): Verify refuses tokens longer than 1024 characters, which
// a payload of more than about 720 bytes would make.
//
// purpose is chosen by code, never by users; it must not contain a 0 byte
// (Sign panics if it does, since tokens of two purposes could then collide).
func (k *Keys) Sign(purpose string, payload string, expires time.Time) string {
	if strings.IndexByte(purpose, 0) >= 0 {
		panic("secrets: a token purpose must not contain a 0 byte")
	}
	var exp int64
	if !expires.IsZero() {
		exp = max(expires.Unix(), 1) // 0 means "never"; a past time stays past
	}
	body := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(payload)), uint64(exp))
	body = append(body, payload...)
	return b64.EncodeToString(body) + "." + b64.EncodeToString(k.tokenMAC(purpose, payload, exp))
}

// Verify checks a token made by Sign for the same purpose and returns its
// payload. Anything malformed, forged or meant for another purpose gives
// ErrBadToken; an authentic token at or past its expiry gives ErrExpired.
// The payload is empty whenever the error is not nil.
func (k *Keys) Verify(purpose, token string, now time.Time) (payload string, err error) {
	if len(token) > maxToken || !tokenChars(token) || strings.IndexByte(purpose, 0) >= 0 {
		return "", ErrBadToken
	}
	bodyText, sigText, ok := strings.Cut(token, ".")
	if !ok {
		return "", ErrBadToken
	}
	body, err1 := b64.DecodeString(bodyText)
	sig, err2 := b64.DecodeString(sigText)
	if err1 != nil || err2 != nil || len(body) < 8 || len(sig) != sha256.Size {
		return "", ErrBadToken
	}
	exp := int64(binary.BigEndian.Uint64(body))
	payload = string(body[8:])
	if !hmac.Equal(sig, k.tokenMAC(purpose, payload, exp)) {
		return "", ErrBadToken
	}
	if exp != 0 && now.Unix() >= exp {
		return "", ErrExpired
	}
	return payload, nil
}

// tokenChars reports whether s holds only base64url letters and dots. The
// base64 decoder skips line breaks, so it alone would let "token\n" pass as
// another spelling of "token".
func tokenChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func (k *Keys) tokenMAC(purpose, payload string, exp int64) []byte {
	h := hmac.New(sha256.New, k.token)
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(payload))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(exp)))
	return h.Sum(nil)
}

// formSkew is how far in the future a form token may seem to be issued,
// for clocks of several servers that disagree a little.
const formSkew = time.Minute

// FormToken makes a CSRF token for a form served at now: the Unix second,
// a dot, and base64url of its HMAC. It is the same for every visitor within
// one second, so it may sit in a cached page.
func (k *Keys) FormToken(now time.Time) string {
	sec := strconv.FormatInt(now.Truncate(time.Second).Unix(), 10)
	return sec + "." + b64.EncodeToString(mac(k.form, sec))
}

// CheckFormToken verifies a token made by FormToken and returns when it was
// issued. A malformed or forged token, or one issued more than a minute in
// the future, gives ErrBadToken; one issued more than maxAge before now gives
// ErrExpired.
func (k *Keys) CheckFormToken(token string, now time.Time, maxAge time.Duration) (issued time.Time, err error) {
	if len(token) > 64 || !tokenChars(token) {
		return time.Time{}, ErrBadToken
	}
	sec, sigText, ok := strings.Cut(token, ".")
	if !ok {
		return time.Time{}, ErrBadToken
	}
	n, err := strconv.ParseInt(sec, 10, 64)
	// Only the canonical spelling of the number: no sign, no leading zero.
	if err != nil || strconv.FormatInt(n, 10) != sec || n < 0 {
		return time.Time{}, ErrBadToken
	}
	sig, err := b64.DecodeString(sigText)
	if err != nil || !hmac.Equal(sig, mac(k.form, sec)) {
		return time.Time{}, ErrBadToken
	}
	issued = time.Unix(n, 0).UTC()
	if issued.After(now.Add(formSkew)) {
		return time.Time{}, ErrBadToken
	}
	if now.Sub(issued) > maxAge {
		return time.Time{}, ErrExpired
	}
	return issued, nil
}
