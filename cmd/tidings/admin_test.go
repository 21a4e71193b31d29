package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

// tidingsIn runs one command line in-process with stdin.
func tidingsIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAdminCommands(t *testing.T) {
	t.Setenv("TIDINGS_SECRET_KEY", "")
	t.Setenv(passwordHashEnv, "")
	dir := t.TempDir()
	storeURL := "sqlite:" + filepath.Join(dir, "a.db")
	flags := []string{"--store", storeURL, "--data", dir}

	for _, tc := range []struct {
		stdin, want string
	}{
		{"", "no password on stdin"},
		{"\n", "no password on stdin"},
		{"short\n", "at least 12 characters"},
		{strings.Repeat("x", 5000) + "\n", "at most 1024 bytes"},
	} {
		code, _, errOut := tidingsIn(t, tc.stdin, append([]string{"admin", "password"}, flags...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("admin password with %.20q: %d %q, want 1 with %q", tc.stdin, code, errOut, tc.want)
		}
	}
	if code, _, _ := tidingsIn(t, "", append([]string{"admin", "password", "extra"}, flags...)...); code != 2 {
		t.Errorf("admin password with an argument: %d, want 2", code)
	}
	// The first line only, without its CRLF; spaces inside are kept.
	code, out, errOut := tidingsIn(t, " correct horse battery staple \r\nsecond line\n", append([]string{"admin", "password"}, flags...)...)
	if code != 0 || !strings.Contains(out, "admin password set") {
		t.Fatalf("admin password: %d %q %q", code, out, errOut)
	}
	st, err := store.Open(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := st.AdminPassword(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hash, "horse") || !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("stored %q, want an argon2id hash", hash)
	}
	for pw, want := range map[string]bool{" correct horse battery staple ": true, "correct horse battery staple": false} {
		if ok, err := admin.VerifyPassword(pw, hash); err != nil || ok != want {
			t.Errorf("the stored hash and %q: %v %v, want %v", pw, ok, err, want)
		}
	}

	// admin hash prints a hash for TIDINGS_ADMIN_PASSWORD_HASH and stores
	// nothing.
	code, out, _ = tidingsIn(t, "from the environment\n", "admin", "hash")
	envHash := strings.TrimSpace(out)
	if ok, err := admin.VerifyPassword("from the environment", envHash); code != 0 || err != nil || !ok {
		t.Fatalf("admin hash: %d %q (%v %v)", code, out, ok, err)
	}
	if code, _, errOut := tidingsIn(t, "short\n", "admin", "hash"); code != 1 || !strings.Contains(errOut, "at least 12 characters") {
		t.Errorf("admin hash of a short password: %d %q", code, errOut)
	}
	t.Setenv(passwordHashEnv, envHash)
	code, _, errOut = tidingsIn(t, "another long passphrase\n", append([]string{"admin", "password"}, flags...)...)
	if code != 0 || !strings.Contains(errOut, passwordHashEnv+" is set and wins") {
		t.Errorf("admin password with the variable set: %d %q", code, errOut)
	}
	t.Setenv(passwordHashEnv, "not a hash")
	if code, _, errOut := tidingsIn(t, "", append([]string{"serve", "--no-poll", "--no-digest", "--addr", "127.0.0.1:0"}, flags...)...); code != 1 || !strings.Contains(errOut, passwordHashEnv) {
		t.Errorf("serve with a bad %s: %d %q", passwordHashEnv, code, errOut)
	}
}

// TestAdminLoginThroughServe sets the password with the command, then logs
// in to a real `tidings serve` over HTTP, with a cookie jar.
func TestAdminLoginThroughServe(t *testing.T) {
	t.Setenv("TIDINGS_SECRET_KEY", "")
	t.Setenv(passwordHashEnv, "")
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	flags := []string{"--store", "sqlite:" + filepath.Join(dir, "a.db"), "--data", dir, "--base-url", base}
	if code, out, errOut := tidingsIn(t, "correct horse battery staple\n", append([]string{"admin", "password"}, flags...)...); code != 0 {
		t.Fatalf("admin password: %d %q %q", code, out, errOut)
	}
	startServe(t, addr, append([]string{"--no-poll", "--no-digest"}, flags...))

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/admin/comments")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Request.URL.Path != "/admin/login" {
		t.Fatalf("the queue without a session led to %s", resp.Request.URL)
	}
	page := get(t, resp.Request.URL.String(), http.StatusOK)
	form := formFields(t, page, "/admin/login")
	form.Set("password", "correct horse battery staple")
	resp, err = client.PostForm(base+"/admin/login", form)
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/admin/comments" || !strings.Contains(body.String(), "Moderation queue") {
		t.Fatalf("after logging in: %d at %s\n%s", resp.StatusCode, resp.Request.URL, body.String())
	}
	// The store holds the session by a hash, never the token.
	var token string
	for _, ck := range jar.Cookies(resp.Request.URL) {
		if ck.Name == "tidings_admin" {
			token = ck.Value
		}
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AdminSession(context.Background(), token); token == "" || err == nil {
		t.Errorf("the store finds a session by its token %q: %v", token, err)
	}
	keys, err := secrets.Load(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	svc, err := admin.NewService(admin.Options{Store: st, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Check(context.Background(), token); err != nil {
		t.Errorf("the browser's token opens no session: %v", err)
	}
}
