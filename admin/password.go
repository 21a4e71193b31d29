package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// The argon2id parameters of new hashes: OWASP's first recommendation
// (19 MiB of memory, 2 passes, 1 lane), a 16-byte salt and a 32-byte key.
const (
	argonMemory  = 19456 // KiB
	argonTime    = 2
	argonThreads = 1
	saltLen      = 16
	keyLen       = 32
)

// Bounds on the parameters of a hash read back (from the store or
// TIDINGS_ADMIN_PASSWORD_HASH), so that a hostile or mistyped one cannot
// make a login take gigabytes or minutes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 20
	maxThreads = 16
)

// phc is a parsed "$argon2id$v=19$m=…,t=…,p=…$salt$key" string.
type phc struct {
	memory  uint32
	time    uint32
	threads uint8
	salt    []byte
	key     []byte
}

// HashPassword checks a new password (at least MinPasswordLen characters,
// at most MaxPasswordBytes bytes) and returns its argon2id hash as a PHC
// string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, salt and key in
// unpadded standard base64. Hashing the same password twice gives two
// different strings (a fresh salt each time).
func HashPassword(password string) (string, error) {
	if err := checkNewPassword(password); err != nil {
		return "", err
	}
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails (crypto/rand aborts the program instead)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// checkNewPassword refuses a password too short to resist guessing, or
// longer than any person types.
func checkNewPassword(password string) error {
	if utf8.RuneCountInString(password) < MinPasswordLen || len(password) > MaxPasswordBytes {
		return ErrWeakPassword
	}
	return nil
}

// CheckHash reports whether hash is a PHC string VerifyPassword can use,
// for checking TIDINGS_ADMIN_PASSWORD_HASH at start.
func CheckHash(hash string) error {
	_, err := parsePHC(hash)
	return err
}

// VerifyPassword reports whether password matches hash, comparing the keys
// in constant time. It uses the parameters written in the hash, so hashes
// made with other (bounded) parameters keep working. A hash it cannot read
// gives ErrBadHash.
func VerifyPassword(password, hash string) (bool, error) {
	p, err := parsePHC(hash)
	if err != nil {
		return false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, nil
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1, nil
}

// parsePHC reads an argon2id PHC string, refusing parameters outside the
// bounds above.
func parsePHC(s string) (phc, error) {
	parts := strings.Split(strings.TrimSpace(s), "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, ErrBadHash
	}
	var p phc
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(val, 10, 32)
		if !ok || err != nil || seen[name] {
			return phc{}, ErrBadHash
		}
		seen[name] = true
		switch name {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > maxThreads {
				return phc{}, ErrBadHash
			}
			p.threads = uint8(n)
		default:
			return phc{}, ErrBadHash
		}
	}
	if len(seen) != 3 || p.threads < 1 || p.time < 1 || p.time > maxTime ||
		p.memory < 8*uint32(p.threads) || p.memory > maxMemory {
		return phc{}, ErrBadHash
	}
	var err error
	if p.salt, err = base64.RawStdEncoding.Strict().DecodeString(parts[4]); err != nil || len(p.salt) < 8 || len(p.salt) > 64 {
		return phc{}, ErrBadHash
	}
	if p.key, err = base64.RawStdEncoding.Strict().DecodeString(parts[5]); err != nil || len(p.key) < 16 || len(p.key) > 64 {
		return phc{}, ErrBadHash
	}
	return p, nil
}

// fingerprint names a password hash in sessions without holding it: a
// session opened under one hash is refused under another.
func fingerprint(hash string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(hash)))
	return hex.EncodeToString(sum[:8])
}
