package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityTrustProxyFlag checks that --trust-proxy reaches the server,
// and that without it a client cannot pick its address: ten failed admin
// logins from one client rotating X-Forwarded-For, then the right password
// from yet another value. Without the flag all eleven are one client, so
// the last is refused with 429; with it each value is a client of its own
// and the login succeeds.
func TestSecurityTrustProxyFlag(t *testing.T) {
	for _, trust := range []bool{false, true} {
		t.Run(fmt.Sprintf("trust-proxy=%v", trust), func(t *testing.T) {
			t.Setenv("TIDINGS_SECRET_KEY", "")
			t.Setenv(passwordHashEnv, "")
			data := t.TempDir()
			addr := freeAddr(t)
			base := "http://" + addr
			flags := []string{"--store", "sqlite:" + filepath.Join(data, "s.db"), "--data", data, "--base-url", base}
			if code, out, errOut := tidingsIn(t, "a long admin passphrase\n", append([]string{"admin", "password"}, flags...)...); code != 0 {
				t.Fatalf("admin password: %d %s %s", code, out, errOut)
			}
			list := filepath.Join(data, "none.txt")
			if err := os.WriteFile(list, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			serve := append([]string{"--no-poll", "--no-digest", "--feeds", list}, flags...)
			if trust {
				serve = append(serve, "--trust-proxy")
			}
			startServe(t, addr, serve)
			m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get(t, base+"/admin/login", http.StatusOK))
			if m == nil {
				t.Fatal("no form token on the login page")
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			login := func(password, ip string) int {
				t.Helper()
				form := url.Values{"csrf": {m[1]}, "password": {password}}
				req, _ := http.NewRequest(http.MethodPost, base+"/admin/login", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Forwarded-For", ip)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			for i := range 10 {
				if code := login("wrong guess", fmt.Sprintf("198.51.100.%d", i+1)); code != http.StatusUnauthorized {
					t.Fatalf("failure %d: %d", i+1, code)
				}
			}
			want := http.StatusTooManyRequests
			if trust {
				want = http.StatusSeeOther
			}
			if code := login("a long admin passphrase", "198.51.100.200"); code != want {
				t.Errorf("the right password after 10 failures from rotating X-Forwarded-For: %d, want %d", code, want)
			}
		})
	}
}
