package admin_test

import (
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/tidings/tidings/admin"
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$([A-Za-z0-9+/]{22})\$([A-Za-z0-9+/]{43})$`)

func TestHashPassword(t *testing.T) {
	hash, err := admin.HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	m := phcPattern.FindStringSubmatch(hash)
	if m == nil {
		t.Fatalf("hash %q is not $argon2id$v=19$m=19456,t=2,p=1$<16-byte salt>$<32-byte key>", hash)
	}
	if salt, _ := base64.RawStdEncoding.DecodeString(m[1]); len(salt) != 16 {
		t.Errorf("salt of %d bytes", len(salt))
	}
	if err := admin.CheckHash(hash); err != nil {
		t.Errorf("CheckHash of a fresh hash: %v", err)
	}
	again, _ := admin.HashPassword(goodPassword)
	if again == hash {
		t.Error("two hashes of one password are equal: no fresh salt")
	}
	for pw, want := range map[string]bool{goodPassword: true, goodPassword + " ": false, "": false, strings.ToUpper(goodPassword): false} {
		if ok, err := admin.VerifyPassword(pw, hash); err != nil || ok != want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", pw, ok, err, want)
		}
	}
}

// A hash made with other parameters (as a future version, or another tool,
// might) verifies with the parameters it names.
func TestVerifyOtherParameters(t *testing.T) {
	salt := []byte("some salt value!")
	key := argon2.IDKey([]byte("password"), salt, 3, 64, 4, 24)
	h := "$argon2id$v=19$m=64,t=3,p=4$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)
	for pw, want := range map[string]bool{"password": true, "Password": false} {
		if ok, err := admin.VerifyPassword(pw, h); err != nil || ok != want {
			t.Errorf("VerifyPassword(%q, %s) = %v, %v; want %v", pw, h, ok, err, want)
		}
	}
}

func TestWeakPasswords(t *testing.T) {
	for _, pw := range []string{"", "short", "elevenchars", "ümlaut ümla", strings.Repeat("x", admin.MaxPasswordBytes+1)} {
		if _, err := admin.HashPassword(pw); !errors.Is(err, admin.ErrWeakPassword) {
			t.Errorf("HashPassword(%.20q): %v, want ErrWeakPassword", pw, err)
		}
	}
	// Twelve characters, counted as characters, not bytes.
	for _, pw := range []string{"twelve chars", "ümlaut ümlau"} {
		if _, err := admin.HashPassword(pw); err != nil {
			t.Errorf("HashPassword(%q): %v", pw, err)
		}
	}
	if !strings.Contains(admin.ErrWeakPassword.Error(), "at least 12 characters") {
		t.Errorf("the message does not say what is needed: %v", admin.ErrWeakPassword)
	}
}

func TestBadHashes(t *testing.T) {
	good, err := admin.HashPassword(goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for name, h := range map[string]string{
		"empty":             "",
		"plain":             goodPassword,
		"argon2i":           "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"bcrypt":            "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"old version":       "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"no version":        "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"missing p":         "$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"repeated m":        "$argon2id$v=19$m=19456,m=1,p=1$" + salt + "$" + key,
		"unknown parameter": "$argon2id$v=19$m=19456,t=2,p=1,x=1$" + salt + "$" + key,
		"huge memory":       "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key,
		"many passes":       "$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"zero passes":       "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key,
		"many lanes":        "$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key,
		"zero lanes":        "$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"negative":          "$argon2id$v=19$m=-1,t=2,p=1$" + salt + "$" + key,
		"padded salt":       "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key,
		"short salt":        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"short key":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$a2V5",
		"not base64":        "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:20] + "!" + key[21:],
		"extra part":        good + "$x",
	} {
		if err := admin.CheckHash(h); !errors.Is(err, admin.ErrBadHash) {
			t.Errorf("%s: CheckHash(%q) = %v, want ErrBadHash", name, h, err)
		}
		if _, err := admin.VerifyPassword(goodPassword, h); !errors.Is(err, admin.ErrBadHash) {
			t.Errorf("%s: VerifyPassword: %v, want ErrBadHash", name, err)
		}
	}
}

func FuzzCheckHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8qNxeOqPSmQMlqK4NCbsqUTrL5lRQnlHIRZ/hrP9Qds")
	f.Add("$argon2id$v=19$m=,t=,p=$$")
	f.Fuzz(func(t *testing.T, h string) {
		// Never panics; whatever it accepts stays within the bounds, so a
		// check is cheap.
		if admin.CheckHash(h) == nil && strings.Count(h, "$") != 5 {
			t.Errorf("accepted %q", h)
		}
	})
}
