package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testMaster is a fixed master key: bytes 0x00 to 0x1f, plus 0xfb 0xff at the
// end so that its base64 holds the characters that differ between alphabets.
var testMaster = append(seq(32), 0xfb, 0xff, 0xfe)

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func mustKeys(t testing.TB, master []byte) *Keys {
	t.Helper()
	k, err := New(master)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sameKeys reports whether a and b were derived from the same master key.
func sameKeys(t *testing.T, a, b *Keys) bool {
	t.Helper()
	got, err := b.Open(a.Seal("x@example.org"))
	return err == nil && got == "x@example.org" && a.BlindIndex("x") == b.BlindIndex("x")
}

func TestNewRefusesShortMaster(t *testing.T) {
	for _, n := range []int{0, 1, 16, 31} {
		if _, err := New(seq(n)); err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") {
			t.Errorf("New(%d bytes) = %v, want an error that says how to make a key", n, err)
		}
	}
	if _, err := New(seq(32)); err != nil {
		t.Errorf("New(32 bytes): %v", err)
	}
}

func TestKeysDoNotPrint(t *testing.T) {
	k := mustKeys(t, testMaster)
	for _, s := range []string{k.String(), k.GoString()} {
		if strings.Contains(s, hex.EncodeToString(k.index[:4])) || !strings.Contains(s, "redacted") {
			t.Errorf("Keys printed as %q", s)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k := mustKeys(t, testMaster)
	for _, addr := range []string{"", "a@b.org", "Reader+news@Example.org", strings.Repeat("x", 300), "ünï@cödé.org", "a\x00b"} {
		s1, s2 := k.Seal(addr), k.Seal(addr)
		if bytes.Equal(s1, s2) {
			t.Errorf("two sealings of %q are equal", addr)
		}
		if bytes.Contains(s1, []byte(addr)) && addr != "" {
			t.Errorf("sealed %q holds it in plain text", addr)
		}
		if s1[0] != 1 || len(s1) != 1+12+len(addr)+16 {
			t.Errorf("sealed %q: version %d, length %d", addr, s1[0], len(s1))
		}
		for _, s := range [][]byte{s1, s2} {
			if got, err := k.Open(s); err != nil || got != addr {
				t.Errorf("Open(Seal(%q)) = %q, %v", addr, got, err)
			}
		}
	}
}

func TestOpenRefusesDamage(t *testing.T) {
	k := mustKeys(t, testMaster)
	sealed := k.Seal("reader@example.org")
	check := func(what string, b []byte) {
		t.Helper()
		got, err := k.Open(b)
		if err == nil || !strings.HasPrefix(err.Error(), "secrets:") || got != "" {
			t.Errorf("%s: Open = %q, %v; want a secrets: error", what, got, err)
		}
	}
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			b := bytes.Clone(sealed)
			b[i] ^= bit
			check("byte "+strconv.Itoa(i)+" flipped", b)
		}
	}
	for n := range len(sealed) {
		check("cut to "+strconv.Itoa(n), sealed[:n])
	}
	check("a byte added", append(bytes.Clone(sealed), 0))
	check("nil", nil)
	check("sealed under another key", mustKeys(t, seq(32)).Seal("reader@example.org"))
}

// pinnedSealed is "reader@example.org" sealed under the master key seq(32).
const pinnedSealed = "0127f5c7aa3a0c6057146c7adebce01df438caeeabf26628ab9a0e71b7b783b62e826ae5a10db0fb09e2a00cf9d3d4"

// TestFormatPinned keeps keys derived and blobs read the same way for ever: a
// change here makes every stored address unreadable and every index wrong.
// The values were checked against an independent HKDF/HMAC/AES-GCM
// implementation (Python's hmac and cryptography modules).
func TestFormatPinned(t *testing.T) {
	k := mustKeys(t, seq(32))
	const (
		index  = "7279f0bdefebd5fedda4579728efc1935657334e4850c20b12b7f03c4f99d050"
		ipHash = "b06a06922917db31bae8cc3daaebcdee"
		sealed = pinnedSealed
		token  = "AAAAAAAAAAA0Mg.nJHIvGRdSwL_lKNLPlGfuJcV9aGGRfaO6_zyEUku4_I"
	)
	if got := k.BlindIndex("reader@example.org"); got != index {
		t.Errorf("BlindIndex = %s, want %s", got, index)
	}
	if got := k.HashIP("192.0.2.1"); got != ipHash {
		t.Errorf("HashIP = %s, want %s", got, ipHash)
	}
	blob, _ := hex.DecodeString(sealed)
	if got, err := k.Open(blob); err != nil || got != "reader@example.org" {
		t.Errorf("Open(pinned) = %q, %v", got, err)
	}
	if got := k.Sign("unsubscribe", "42", time.Time{}); got != token {
		t.Errorf("Sign = %s, want %s", got, token)
	}
}

func TestBlindIndexAndHashIP(t *testing.T) {
	k, other := mustKeys(t, testMaster), mustKeys(t, seq(32))
	a := k.BlindIndex("reader@example.org")
	if len(a) != 64 || a != k.BlindIndex("reader@example.org") {
		t.Errorf("BlindIndex = %q: want 64 hex digits, the same each time", a)
	}
	if a == k.BlindIndex("reader@example.net") || a == other.BlindIndex("reader@example.org") {
		t.Error("BlindIndex does not depend on both the address and the key")
	}
	h := k.HashIP("192.0.2.1")
	if len(h) != 32 || h != k.HashIP("192.0.2.1") || h == k.HashIP("192.0.2.2") || h == other.HashIP("192.0.2.1") {
		t.Errorf("HashIP = %q: want 32 hex digits depending on the address and the key", h)
	}
	// Distinct subkeys: the IP hash of a string is not a prefix of its index.
	if strings.HasPrefix(k.BlindIndex("192.0.2.1"), h) {
		t.Error("HashIP and BlindIndex share a key")
	}
}

func TestTokenRoundTrip(t *testing.T) {
	k := mustKeys(t, testMaster)
	now := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	for _, payload := range []string{"", "42", "a.b.c", "ünï", "a\x00b", strings.Repeat("p", 700)} {
		tok := k.Sign("confirm", payload, now.Add(48*time.Hour))
		if got, err := k.Verify("confirm", tok, now); err != nil || got != payload {
			t.Errorf("Verify(Sign(%q)) = %q, %v", payload, got, err)
		}
		if strings.ContainsAny(tok, "+/= \n") {
			t.Errorf("token %q is not URL-safe base64", tok)
		}
	}
	forever := k.Sign("unsubscribe", "7", time.Time{})
	if got, err := k.Verify("unsubscribe", forever, now.AddDate(100, 0, 0)); err != nil || got != "7" {
		t.Errorf("a token without expiry: %q, %v", got, err)
	}
}

func TestTokenPurposeAndKey(t *testing.T) {
	k := mustKeys(t, testMaster)
	now := time.Unix(1_800_000_000, 0)
	tok := k.Sign("confirm", "42", time.Time{})
	for _, purpose := range []string{"unsubscribe", "", "confirm\x00", "Confirm", "confirm "} {
		if got, err := k.Verify(purpose, tok, now); !errors.Is(err, ErrBadToken) || got != "" {
			t.Errorf("Verify(%q) of a confirm token = %q, %v", purpose, got, err)
		}
	}
	if _, err := mustKeys(t, seq(32)).Verify("confirm", tok, now); !errors.Is(err, ErrBadToken) {
		t.Errorf("another key verified the token: %v", err)
	}
	// The 0 byte separates purpose and payload, so purposes may not hold one.
	defer func() {
		if recover() == nil {
			t.Error("Sign accepted a purpose with a 0 byte")
		}
	}()
	k.Sign("a\x00b", "c", time.Time{})
}

func TestTokenExpiry(t *testing.T) {
	k := mustKeys(t, testMaster)
	exp := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	tok := k.Sign("confirm", "42", exp)
	if got, err := k.Verify("confirm", tok, exp.Add(-time.Second)); err != nil || got != "42" {
		t.Errorf("a second before expiry: %q, %v", got, err)
	}
	for _, now := range []time.Time{exp, exp.Add(time.Hour)} {
		if got, err := k.Verify("confirm", tok, now); !errors.Is(err, ErrExpired) || got != "" {
			t.Errorf("at %v: %q, %v; want ErrExpired", now, got, err)
		}
	}
	// Expiry is checked only once the MAC is good: a forged expired token is bad.
	forged := []byte(tok)
	forged[len(forged)-2] ^= 'A' ^ 'B'
	if _, err := k.Verify("confirm", string(forged), exp.Add(time.Hour)); !errors.Is(err, ErrBadToken) {
		t.Errorf("forged expired token: %v, want ErrBadToken", err)
	}
	// An expiry before 1970 is in the past, not "never".
	old := k.Sign("confirm", "42", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))
	if _, err := k.Verify("confirm", old, exp); !errors.Is(err, ErrExpired) {
		t.Errorf("token that expired in 1960: %v", err)
	}
}

func TestTokenTamper(t *testing.T) {
	k := mustKeys(t, testMaster)
	now := time.Unix(1_800_000_000, 0)
	tok := k.Sign("unsubscribe", "12345", now.Add(time.Hour))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ "
	for i := range len(tok) {
		for _, c := range []byte(alphabet) {
			if c == tok[i] {
				continue
			}
			b := []byte(tok)
			b[i] = c
			if got, err := k.Verify("unsubscribe", string(b), now); !errors.Is(err, ErrBadToken) {
				t.Fatalf("token with byte %d set to %q: %q, %v", i, c, got, err)
			}
		}
	}
	for n := range len(tok) {
		if _, err := k.Verify("unsubscribe", tok[:n], now); !errors.Is(err, ErrBadToken) {
			t.Errorf("token cut to %d: %v", n, err)
		}
	}
}

func TestTokenGarbage(t *testing.T) {
	k := mustKeys(t, testMaster)
	good := k.Sign("confirm", "12", time.Time{})
	body, sig, _ := strings.Cut(good, ".")
	now := time.Unix(1_800_000_000, 0)
	for _, tok := range []string{
		"", ".", "..", "abc", body, sig, body + ".", "." + sig, body + sig,
		body + "." + sig + ".", body + ".." + sig, body + "=." + sig, " " + good, good + "\n",
		"!!!.!!!", "AAAA.AAAA", "AAAAAAAAAA." + sig, // body shorter than its 8-byte expiry
		strings.Repeat("A", 2000) + "." + sig, good + strings.Repeat("A", 1100),
		base64.URLEncoding.EncodeToString([]byte("\x00\x00\x00\x00\x00\x00\x00\x0012")) + "." + sig, // padded
		good[:len(body)-1] + "\n" + good[len(body)-1:],                                              // the decoder alone skips line breaks
		"\xff\xfe." + sig,
	} {
		if got, err := k.Verify("confirm", tok, now); !errors.Is(err, ErrBadToken) || got != "" {
			t.Errorf("Verify(%q) = %q, %v; want ErrBadToken", tok, got, err)
		}
	}
}

func TestFormToken(t *testing.T) {
	k := mustKeys(t, testMaster)
	served := time.Date(2026, 11, 23, 8, 0, 0, 250e6, time.UTC)
	tok := k.FormToken(served)
	if tok != k.FormToken(served.Add(500*time.Millisecond)) {
		t.Error("form tokens differ within one second")
	}
	if tok == k.FormToken(served.Add(time.Second)) {
		t.Error("form tokens of two seconds are equal")
	}
	issued, err := k.CheckFormToken(tok, served.Add(2*time.Second), time.Hour)
	if err != nil || !issued.Equal(served.Truncate(time.Second)) {
		t.Errorf("CheckFormToken = %v, %v; want %v", issued, err, served.Truncate(time.Second))
	}
	for _, c := range []struct {
		name string
		now  time.Time
		want error
	}{
		{"within the skew", served.Add(-59 * time.Second), nil},
		{"from the future", served.Add(-62 * time.Second), ErrBadToken},
		{"at max age", served.Add(time.Hour - 250*time.Millisecond), nil},
		{"too old", served.Add(time.Hour + time.Second), ErrExpired},
	} {
		if _, err := k.CheckFormToken(tok, c.now, time.Hour); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	sec, sig, _ := strings.Cut(tok, ".")
	for _, bad := range []string{
		"", ".", sec, sec + ".", "." + sig, "0" + sec + "." + sig, "+" + sec + "." + sig, sec + " ." + sig,
		sec + "." + sig + "=", sec + "." + sig + ".", "-1." + sig, "1." + sig, tok + strings.Repeat("A", 100),
		k.Sign("form", sec, time.Time{}), mustKeys(t, seq(32)).FormToken(served),
	} {
		if _, err := k.CheckFormToken(bad, served, time.Hour); !errors.Is(err, ErrBadToken) {
			t.Errorf("CheckFormToken(%q) = %v, want ErrBadToken", bad, err)
		}
	}
	if _, err := k.Verify("form", tok, served); !errors.Is(err, ErrBadToken) {
		t.Errorf("a form token verified as a signed token: %v", err)
	}
}

func TestLoadCreatesKeyFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	k1, err := Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, KeyFile)
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		if st.Mode().Perm() != 0o600 {
			t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
		}
		if dst, _ := os.Stat(dir); dst.Mode().Perm() != 0o700 {
			t.Errorf("data dir mode %v, want 0700", dst.Mode().Perm())
		}
	}
	text, _ := os.ReadFile(path)
	master, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text)))
	if err != nil || len(master) != 32 {
		t.Fatalf("key file holds %q: %v", text, err)
	}
	if !sameKeys(t, k1, mustKeys(t, master)) {
		t.Error("the keys do not come from the file's master key")
	}
	k2, err := Load(dir, "")
	if err != nil || !sameKeys(t, k1, k2) {
		t.Fatalf("second Load gave other keys: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, text) {
		t.Error("second Load changed the key file")
	}
	assertOnlyKeyFile(t, dir)
}

func assertOnlyKeyFile(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != KeyFile {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("data dir holds %v, want only %s", names, KeyFile)
	}
}

func TestLoadConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 8
	keys := make([]*Keys, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			keys[i], errs[i] = Load(dir, "")
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Load %d: %v", i, errs[i])
		}
		if !sameKeys(t, keys[0], keys[i]) {
			t.Errorf("Load %d got another key than Load 0", i)
		}
	}
	assertOnlyKeyFile(t, dir)
}

func TestLoadRefusesBadKeyFile(t *testing.T) {
	for name, content := range map[string]string{
		"empty":     "",
		"garbage":   "this is not a key\n",
		"too short": base64.StdEncoding.EncodeToString(seq(16)) + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, KeyFile)
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir, ""); err == nil || !strings.Contains(err.Error(), "secrets:") {
				t.Fatalf("Load = %v, want a secrets: error", err)
			}
			if got, _ := os.ReadFile(path); string(got) != content {
				t.Error("Load replaced a bad key file")
			}
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		dir := t.TempDir()
		// A directory in the file's place cannot be read, even by root.
		if err := os.Mkdir(filepath.Join(dir, KeyFile), 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(dir, ""); err == nil {
			t.Fatal("Load succeeded with an unreadable key file")
		}
	})
	if _, err := Load("", ""); err == nil {
		t.Error("Load with no data dir and no key succeeded")
	}
}

func TestLoadFromEnv(t *testing.T) {
	want := mustKeys(t, testMaster)
	for _, form := range []string{
		base64.StdEncoding.EncodeToString(testMaster),
		base64.RawStdEncoding.EncodeToString(testMaster),
		base64.URLEncoding.EncodeToString(testMaster),
		base64.RawURLEncoding.EncodeToString(testMaster) + "\n",
		hex.EncodeToString(testMaster),
		" " + strings.ToUpper(hex.EncodeToString(testMaster)) + " ",
	} {
		dir := t.TempDir()
		k, err := Load(dir, form)
		if err != nil {
			t.Errorf("Load(%q): %v", form, err)
			continue
		}
		if !sameKeys(t, want, k) {
			t.Errorf("Load(%q) gave other keys", form)
		}
		if _, err := os.Stat(filepath.Join(dir, KeyFile)); err == nil {
			t.Errorf("Load(%q) wrote a key file although the key was given", form)
		}
	}
	for _, bad := range []string{
		base64.StdEncoding.EncodeToString(seq(31)), hex.EncodeToString(seq(31)), "abc",
		"not*base64*at*all", strings.Repeat("é", 50), " ",
	} {
		_, err := Load(t.TempDir(), bad)
		if err == nil || !strings.Contains(err.Error(), "openssl rand -base64 32") || !strings.Contains(err.Error(), "TIDINGS_SECRET_KEY") {
			t.Errorf("Load(%q) = %v, want an error naming the variable and how to make a key", bad, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	// The blob is fixed, not sealed here: each fuzzing process runs this
	// set-up anew, and a fresh nonce would make every process's blob differ.
	k := mustKeys(f, seq(32))
	good, _ := hex.DecodeString(pinnedSealed)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(append([]byte{2}, good[1:]...))
	f.Add(bytes.Repeat([]byte{1}, 29))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := k.Open(b)
		if err != nil {
			if got != "" || !strings.HasPrefix(err.Error(), "secrets: ") {
				t.Fatalf("Open = %q, %v", got, err)
			}
			return
		}
		// Only a blob Seal made opens: anything else would be a forgery.
		if !bytes.Equal(b, good) || got != "reader@example.org" {
			t.Fatalf("Open accepted %x as %q", b, got)
		}
	})
}

func FuzzVerify(f *testing.F) {
	k := mustKeys(f, testMaster)
	now := time.Unix(1_800_000_000, 0)
	valid := map[string]string{
		k.Sign("confirm", "42", time.Time{}):    "42",
		k.Sign("confirm", "", now.Add(1e9)):     "",
		k.Sign("confirm", "a.b", now.Add(-1e9)): "", // expired
	}
	for tok := range valid {
		f.Add(tok)
	}
	f.Add("")
	f.Add(".")
	f.Add("AAAAAAAAAAA.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := k.Verify("confirm", tok, now)
		switch {
		case err == nil:
			if want, ok := valid[tok]; !ok || got != want {
				t.Fatalf("Verify accepted %q as %q", tok, got)
			}
		case errors.Is(err, ErrExpired):
			if _, ok := valid[tok]; !ok {
				t.Fatalf("Verify called %q authentic but expired", tok)
			}
		case !errors.Is(err, ErrBadToken) || got != "":
			t.Fatalf("Verify(%q) = %q, %v", tok, got, err)
		}
		if _, err := k.CheckFormToken(tok, now, time.Hour); err == nil {
			t.Fatalf("CheckFormToken accepted %q", tok)
		}
	})
}
