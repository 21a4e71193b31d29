package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// sealVersion is the first byte of every sealed blob, so that the format can
// change later while old blobs stay readable.
const sealVersion = 1

// sealAD binds a sealed blob to its purpose: a blob sealed for anything else
// (with other additional data) does not open as an address.
var sealAD = []byte("tidings address")

// Seal encrypts an email address with AES-256-GCM under a fresh random
// nonce: sealing one address twice gives two different blobs. The result is
// the version byte 1, the 12-byte nonce, then the ciphertext and tag.
func (k *Keys) Seal(plain string) []byte {
	ns := k.seal.NonceSize()
	out := make([]byte, 1+ns, 1+ns+len(plain)+k.seal.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:]) // never fails (crypto/rand aborts the program instead)
	return k.seal.Seal(out, out[1:], []byte(plain), sealAD)
}

// Open decrypts a blob made by Seal. A blob that is short, of an unknown
// version, damaged, or sealed under another key gives an error.
func (k *Keys) Open(sealed []byte) (string, error) {
	ns := k.seal.NonceSize()
	if len(sealed) < 1+ns+k.seal.Overhead() {
		return "", errors.New("secrets: sealed address is too short")
	}
	if sealed[0] != sealVersion {
		return "", fmt.Errorf("secrets: sealed address has unknown version %d", sealed[0])
	}
	plain, err := k.seal.Open(nil, sealed[1:1+ns], sealed[1+ns:], sealAD)
	if err != nil {
		return "", fmt.Errorf("secrets: sealed address is damaged or was sealed under another key: %w", err)
	}
	return string(plain), nil
}

// BlindIndex is the keyed hash under which an address is found: the hex of
// its HMAC-SHA256 with the index key. Give it the normalised form of the
// address (newsletter.IndexForm), so that one address always has one index.
func (k *Keys) BlindIndex(normalised string) string {
	return hex.EncodeToString(mac(k.index, normalised))
}

// HashIP is a keyed hash of a client's IP address (32 hex digits), to record
// consent or count submissions without keeping the address itself.
func (k *Keys) HashIP(ip string) string {
	return hex.EncodeToString(mac(k.ip, ip)[:16])
}

func mac(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}
