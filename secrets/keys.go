// Package secrets owns Tidings' keys and the cryptography built on them:
// email addresses sealed at rest (AES-256-GCM) with a blind index for
// look-ups, keyed hashes of client IP addresses, signed tokens for links in
// mails, and CSRF form tokens.
//
// Every key is derived with HKDF-SHA256 from one master key, under a distinct
// label per purpose, so that no key ever serves two purposes. The master key
// comes from TIDINGS_SECRET_KEY or from the file DATA/secret.key, created on
// first start. Losing or changing it makes every stored address unreadable.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MinKeyLen is the least number of bytes a master key must have.
const MinKeyLen = 32

// KeyFile is the name of the file, in the data directory, that holds the
// master key when TIDINGS_SECRET_KEY is not set.
const KeyFile = "secret.key"

// howToMake tells an operator how to produce a good key.
const howToMake = "make one with: openssl rand -base64 32"

// The HKDF info labels, one per purpose. Changing one changes the derived
// key, so they are fixed for ever ("v1").
const (
	labelSeal  = "tidings address seal v1"
	labelIndex = "tidings blind index v1"
	labelToken = "tidings token v1"
	labelIP    = "tidings ip hash v1"
	labelForm  = "tidings form v1"
)

// Keys holds the subkeys derived from one master key. Build it with New or
// Load; it is safe for concurrent use and never prints its keys.
type Keys struct {
	seal  cipher.AEAD
	index []byte
	token []byte
	ip    []byte
	form  []byte
}

// New derives the subkeys from master, which must hold at least MinKeyLen
// bytes.
func New(master []byte) (*Keys, error) {
	if len(master) < MinKeyLen {
		return nil, fmt.Errorf("secrets: the master key has %d bytes; at least %d are needed (%s)", len(master), MinKeyLen, howToMake)
	}
	derive := func(label string) ([]byte, error) {
		k, err := hkdf.Key(sha256.New, master, nil, label, 32)
		if err != nil {
			return nil, fmt.Errorf("secrets: deriving %q: %w", label, err)
		}
		return k, nil
	}
	var k Keys
	sealKey, err := derive(labelSeal)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	if k.seal, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	for _, d := range []struct {
		dst   *[]byte
		label string
	}{{&k.index, labelIndex}, {&k.token, labelToken}, {&k.ip, labelIP}, {&k.form, labelForm}} {
		if *d.dst, err = derive(d.label); err != nil {
			return nil, err
		}
	}
	return &k, nil
}

// String hides the keys from logs and error messages.
func (k *Keys) String() string { return "secrets.Keys{redacted}" }

// GoString hides the keys from %#v.
func (k *Keys) GoString() string { return k.String() }

// Load returns the keys of this installation. fromEnv is the value of
// TIDINGS_SECRET_KEY: when it is not empty it is the master key, in base64
// (standard or URL alphabet, padded or not) or hex. Otherwise the master key
// is read from dataDir/secret.key, which is created on first start with 32
// random bytes (mode 0600, in a directory created 0700). An existing key file
// is never replaced: if it cannot be read or holds no valid key, Load fails,
// because a new key would make every stored address unreadable. Several
// processes starting together on an empty directory all end up with the same
// key.
func Load(dataDir, fromEnv string) (*Keys, error) {
	if fromEnv != "" {
		master, err := decodeKey(fromEnv)
		if err != nil {
			return nil, fmt.Errorf("secrets: TIDINGS_SECRET_KEY: %w", err)
		}
		return New(master)
	}
	if dataDir == "" {
		return nil, errors.New("secrets: no data directory given for " + KeyFile)
	}
	path := filepath.Join(dataDir, KeyFile)
	master, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		master, err = createKeyFile(dataDir, path)
	}
	if err != nil {
		return nil, err
	}
	return New(master)
}

// decodeKey turns the text form of a master key into bytes. A string of hex
// digits is read as hex (a base64 key of that length made only of hex digits
// is vanishingly unlikely); anything else must be base64 in one of its four
// common forms.
func decodeKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	var key []byte
	if isHex(text) {
		key, _ = hex.DecodeString(text) // isHex checked every byte and the length
	} else {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(text); err == nil {
				key = b
				break
			}
		}
		if key == nil {
			return nil, fmt.Errorf("not valid base64 or hex (%s)", howToMake)
		}
	}
	if len(key) < MinKeyLen {
		return nil, fmt.Errorf("the key has %d bytes; at least %d are needed (%s)", len(key), MinKeyLen, howToMake)
	}
	return key, nil
}

func isHex(s string) bool {
	if len(s) == 0 || len(s)%2 != 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// readKeyFile reads and decodes an existing key file. A missing file gives an
// error matching fs.ErrNotExist; every other failure is final.
func readKeyFile(path string) ([]byte, error) {
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: reading the key file (it is never replaced, or every stored address would become unreadable): %w", err)
	}
	key, err := decodeKey(string(text))
	if err != nil {
		return nil, fmt.Errorf("secrets: %s holds no valid key; restore it from a backup or remove it to start afresh, losing every stored address: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new random key to a temporary file, then links it
// into place. A link, unlike a rename, fails if the name exists: when another
// process got there first, its key is read and ours is thrown away, so both
// use the same key, and nobody ever sees a half-written file.
func createKeyFile(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("secrets: creating the data directory: %w", err)
	}
	key := make([]byte, MinKeyLen)
	rand.Read(key) // never fails (crypto/rand aborts the program instead)
	text := base64.StdEncoding.EncodeToString(key) + "\n"

	tmp, err := os.CreateTemp(dataDir, "."+KeyFile+".tmp-*") // mode 0600
	if err != nil {
		return nil, fmt.Errorf("secrets: creating the key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(text)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("secrets: writing the key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("secrets: putting the key file in place: %w", err)
	}
	syncDir(dataDir)
	return key, nil
}

// syncDir makes the new directory entry durable where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere; the file itself was synced
		_ = d.Close()
	}
}
