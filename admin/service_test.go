package admin_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store/redis"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/sqlite"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const goodPassword = "correct horse battery staple"

// clock is the only fake: a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// rig is a service on a real store with a clock the test moves.
type rig struct {
	svc   *admin.Service
	st    admin.Store
	clock *clock
}

// onStores runs fn on SQLite and on one Redis server.
func onStores(t *testing.T, fn func(t *testing.T, open func(t *testing.T) admin.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, func(t *testing.T) admin.Store {
			s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
	t.Run("redis", func(t *testing.T) {
		fn(t, func(t *testing.T) admin.Store {
			s, err := redis.Open(context.Background(), redistest.Server(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func testKeys(t *testing.T) *secrets.Keys {
	t.Helper()
	k, err := secrets.New(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newRig builds the service on st with the password set (unless empty).
func newRig(t *testing.T, st admin.Store, password string, o admin.Options) *rig {
	t.Helper()
	r := &rig{st: st, clock: &clock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}}
	o.Store, o.Keys, o.Now = st, testKeys(t), r.clock.Now
	svc, err := admin.NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	if password != "" {
		if err := svc.SetPassword(context.Background(), password); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func (r *rig) login(t *testing.T, ip string) string {
	t.Helper()
	token, err := r.svc.Login(context.Background(), goodPassword, ip)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	return token
}

func TestLogin(t *testing.T) {
	onStores(t, func(t *testing.T, open func(t *testing.T) admin.Store) {
		ctx := context.Background()
		bare := newRig(t, open(t), "", admin.Options{})
		if _, err := bare.svc.Login(ctx, goodPassword, "192.0.2.1"); !errors.Is(err, admin.ErrNoPassword) {
			t.Errorf("login without a password set: %v, want ErrNoPassword", err)
		}

		r := newRig(t, open(t), goodPassword, admin.Options{})
		for _, wrong := range []string{"", "correct horse battery stapler", "CORRECT HORSE BATTERY STAPLE", string(make([]byte, 2000))} {
			if _, err := r.svc.Login(ctx, wrong, "192.0.2.1"); !errors.Is(err, admin.ErrBadPassword) {
				t.Errorf("login with %.30q: %v, want ErrBadPassword", wrong, err)
			}
		}
		token := r.login(t, "192.0.2.1")
		sess, err := r.svc.Check(ctx, token)
		if err != nil {
			t.Fatalf("check after login: %v", err)
		}
		// The store knows the session by the hash of its token only.
		sum := sha256.Sum256([]byte(token))
		if sess.ID != hex.EncodeToString(sum[:]) {
			t.Errorf("session ID %q is not the SHA-256 of the token", sess.ID)
		}
		if _, err := r.st.AdminSession(ctx, token); !errors.Is(err, admin.ErrNotFound) {
			t.Errorf("the store knows a session by its token: %v", err)
		}
		// Each login gets a new token; both work until logged out.
		second := r.login(t, "192.0.2.1")
		if second == token {
			t.Fatal("two logins got the same token")
		}
		if err := r.svc.Logout(ctx, token); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Check(ctx, token); !errors.Is(err, admin.ErrNotFound) {
			t.Errorf("check after logout: %v, want ErrNotFound", err)
		}
		if _, err := r.svc.Check(ctx, second); err != nil {
			t.Errorf("logging one session out ended another: %v", err)
		}
		for _, junk := range []string{"", "x", token + "x", "../../etc", string(make([]byte, 5000))} {
			if _, err := r.svc.Check(ctx, junk); !errors.Is(err, admin.ErrNotFound) {
				t.Errorf("check %.20q: %v, want ErrNotFound", junk, err)
			}
			if err := r.svc.Logout(ctx, junk); err != nil {
				t.Errorf("logout %.20q: %v", junk, err)
			}
		}
	})
}

// The 11th login within 15 minutes is refused, even with the right
// password; other clients are not affected; after the window it works, and
// a success forgets the failures.
func TestLoginThrottle(t *testing.T) {
	onStores(t, func(t *testing.T, open func(t *testing.T) admin.Store) {
		ctx := context.Background()
		r := newRig(t, open(t), goodPassword, admin.Options{})
		const ip = "203.0.113.7"
		for i := range admin.MaxFailures {
			if _, err := r.svc.Login(ctx, "wrong password!", ip); !errors.Is(err, admin.ErrBadPassword) {
				t.Fatalf("failure %d: %v", i+1, err)
			}
			r.clock.add(time.Minute)
		}
		if _, err := r.svc.Login(ctx, goodPassword, ip); !errors.Is(err, admin.ErrThrottled) {
			t.Fatalf("11th attempt, right password: %v, want ErrThrottled", err)
		}
		if _, err := r.svc.Login(ctx, "wrong password!", ip); !errors.Is(err, admin.ErrThrottled) {
			t.Fatalf("12th attempt: %v, want ErrThrottled", err)
		}
		r.login(t, "203.0.113.8") // another client

		// The first failure was at +0; 15 minutes after it, nine remain in
		// the window, so one more attempt is allowed.
		r.clock.add(admin.FailureWindow - admin.MaxFailures*time.Minute)
		if _, err := r.svc.Login(ctx, goodPassword, ip); !errors.Is(err, admin.ErrThrottled) {
			t.Fatalf("just inside the window: %v, want ErrThrottled", err)
		}
		r.clock.add(time.Nanosecond)
		r.login(t, ip)
		// The success forgot the failures: ten more may fail.
		for i := range admin.MaxFailures {
			if _, err := r.svc.Login(ctx, "wrong password!", ip); !errors.Is(err, admin.ErrBadPassword) {
				t.Fatalf("failure %d after a success: %v", i+1, err)
			}
		}
	})
}

// IPv6 clients are counted by their /64 network, IPv4 ones by address
// (however written).
func TestLoginThrottleNetworks(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, sqliteStore(t), goodPassword, admin.Options{})
	for i := range admin.MaxFailures {
		ip := fmt.Sprintf("2001:db8:1:2::%x", i+1) // a new address each time, one /64
		if _, err := r.svc.Login(ctx, "wrong password!", ip); !errors.Is(err, admin.ErrBadPassword) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, err := r.svc.Login(ctx, goodPassword, "2001:db8:1:2:ffff::1"); !errors.Is(err, admin.ErrThrottled) {
		t.Errorf("another address of the /64: %v, want ErrThrottled", err)
	}
	r.login(t, "2001:db8:1:3::1") // the next /64
	for i := range admin.MaxFailures {
		if _, err := r.svc.Login(ctx, "wrong password!", "::ffff:198.51.100.4"); !errors.Is(err, admin.ErrBadPassword) {
			t.Fatalf("IPv4 failure %d: %v", i+1, err)
		}
	}
	if _, err := r.svc.Login(ctx, goodPassword, "198.51.100.4"); !errors.Is(err, admin.ErrThrottled) {
		t.Errorf("the same IPv4 address, written plainly: %v, want ErrThrottled", err)
	}
	r.login(t, "198.51.100.5")
}

// Attempts from one client at once cannot slip past the limit: exactly
// MaxFailures are checked, the rest refused.
func TestLoginThrottleConcurrent(t *testing.T) {
	r := newRig(t, sqliteStore(t), goodPassword, admin.Options{})
	const attempts = admin.MaxFailures + 4
	var wg sync.WaitGroup
	errs := make(chan error, attempts)
	for range attempts {
		wg.Go(func() {
			_, err := r.svc.Login(context.Background(), "wrong password!", "198.51.100.1")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	counts := map[error]int{}
	for err := range errs {
		counts[err]++
	}
	if counts[admin.ErrBadPassword] != admin.MaxFailures || counts[admin.ErrThrottled] != attempts-admin.MaxFailures {
		t.Errorf("outcomes %v, want %d wrong and %d throttled", counts, admin.MaxFailures, attempts-admin.MaxFailures)
	}
}

func sqliteStore(t *testing.T) admin.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A session unused for the idle timeout ends and is erased; one in use
// ends at the absolute timeout.
func TestSessionTimeouts(t *testing.T) {
	onStores(t, func(t *testing.T, open func(t *testing.T) admin.Store) {
		ctx := context.Background()
		r := newRig(t, open(t), goodPassword, admin.Options{})
		token := r.login(t, "192.0.2.1")
		r.clock.add(admin.DefaultIdleTimeout - time.Second)
		if _, err := r.svc.Check(ctx, token); err != nil {
			t.Fatalf("used just before the idle timeout: %v", err)
		}
		r.clock.add(admin.DefaultIdleTimeout - time.Second) // counted from the last use
		sess, err := r.svc.Check(ctx, token)
		if err != nil {
			t.Fatalf("used again just before the idle timeout: %v", err)
		}
		if !sess.LastSeen.Equal(r.clock.Now()) {
			t.Errorf("LastSeen %v, want now %v", sess.LastSeen, r.clock.Now())
		}
		r.clock.add(admin.DefaultIdleTimeout)
		if _, err := r.svc.Check(ctx, token); !errors.Is(err, admin.ErrExpired) {
			t.Fatalf("idle for the timeout: %v, want ErrExpired", err)
		}
		if _, err := r.st.AdminSession(ctx, sess.ID); !errors.Is(err, admin.ErrNotFound) {
			t.Errorf("an idle-expired session is still stored: %v", err)
		}
		if _, err := r.svc.Check(ctx, token); !errors.Is(err, admin.ErrNotFound) {
			t.Errorf("check after expiry: %v, want ErrNotFound", err)
		}

		// Busy all day: used every hour, it still ends 24 h after the login.
		token = r.login(t, "192.0.2.1")
		for range 23 {
			r.clock.add(time.Hour)
			sess, err := r.svc.Check(ctx, token)
			if err != nil {
				t.Fatalf("in use: %v", err)
			}
			if limit := sess.CreatedAt.Add(admin.DefaultAbsoluteTimeout); sess.ExpiresAt.After(limit) {
				t.Fatalf("ExpiresAt %v is after the absolute limit %v", sess.ExpiresAt, limit)
			}
		}
		r.clock.add(time.Hour)
		if _, err := r.svc.Check(ctx, token); !errors.Is(err, admin.ErrExpired) {
			t.Fatalf("24 h after the login: %v, want ErrExpired", err)
		}
	})
}

// Shorter timeouts from Options apply.
func TestTimeoutOptions(t *testing.T) {
	r := newRig(t, sqliteStore(t), goodPassword, admin.Options{IdleTimeout: time.Minute, AbsoluteTimeout: time.Hour})
	token, err := r.svc.Login(context.Background(), goodPassword, "192.0.2.1")
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	r.clock.add(time.Minute)
	if _, err := r.svc.Check(context.Background(), token); !errors.Is(err, admin.ErrExpired) {
		t.Errorf("after a one-minute idle timeout: %v, want ErrExpired", err)
	}
}

// Setting a new password ends the sessions opened under the old one.
func TestPasswordChangeEndsSessions(t *testing.T) {
	onStores(t, func(t *testing.T, open func(t *testing.T) admin.Store) {
		ctx := context.Background()
		r := newRig(t, open(t), goodPassword, admin.Options{})
		token := r.login(t, "192.0.2.1")
		if err := r.svc.SetPassword(ctx, "another long passphrase"); err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.Check(ctx, token); !errors.Is(err, admin.ErrExpired) {
			t.Errorf("a session after the password changed: %v, want ErrExpired", err)
		}
		if _, err := r.svc.Login(ctx, goodPassword, "192.0.2.1"); !errors.Is(err, admin.ErrBadPassword) {
			t.Errorf("the old password: %v, want ErrBadPassword", err)
		}
		if _, err := r.svc.Login(ctx, "another long passphrase", "192.0.2.1"); err != nil {
			t.Errorf("the new password: %v", err)
		}
	})
}

// A hash from TIDINGS_ADMIN_PASSWORD_HASH wins over the stored one.
func TestPasswordFromEnvironment(t *testing.T) {
	ctx := context.Background()
	st := sqliteStore(t)
	envHash, err := admin.HashPassword("from the environment")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, st, goodPassword, admin.Options{PasswordHash: envHash + "\n"})
	if !r.svc.PasswordFromEnv() {
		t.Error("PasswordFromEnv is false")
	}
	if _, err := r.svc.Login(ctx, goodPassword, "192.0.2.1"); !errors.Is(err, admin.ErrBadPassword) {
		t.Errorf("the stored password: %v, want ErrBadPassword", err)
	}
	if _, err := r.svc.Login(ctx, "from the environment", "192.0.2.1"); err != nil {
		t.Errorf("the environment's password: %v", err)
	}
	for _, bad := range []string{"plain text", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5"} {
		if _, err := admin.NewService(admin.Options{Store: st, Keys: testKeys(t), PasswordHash: bad}); !errors.Is(err, admin.ErrBadHash) {
			t.Errorf("NewService with hash %q: %v, want ErrBadHash", bad, err)
		}
	}
}
