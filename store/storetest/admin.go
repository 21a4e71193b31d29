package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/admin"
)

// TestAdmin checks every promise of admin.Store. open must return a fresh,
// empty store each time it is called (one per subtest) and arrange for it to
// be closed when t ends. Subtests run in parallel.
//
// Besides what the interface's comments say, the suite pins these choices:
//   - Times come back in UTC, to the nanosecond; strings byte for byte.
//   - TouchAdminSession changes LastSeen and ExpiresAt only.
//   - LoginFailures counts failures at since itself; two failures at one
//     instant count twice; clients are counted apart; a failure recorded
//     after a ClearLoginFailures counts again.
//   - The sessions and failures of the suite live far from their end (a
//     day), so no store forgets them while it runs.
func TestAdmin(t *testing.T, open func(t *testing.T) admin.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s admin.Store)
	}{
		{"Password", testAdminPassword},
		{"SessionRoundTrip", testAdminSessionRoundTrip},
		{"SessionNotFound", testAdminSessionNotFound},
		{"TouchSession", testAdminTouchSession},
		{"DeleteSession", testAdminDeleteSession},
		{"LoginFailures", testLoginFailures},
		{"LoginFailuresForgetOld", testLoginFailuresForgetOld},
		{"LoginFailuresRace", testLoginFailuresRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// adminBase is a fixed instant with nanoseconds and a zone, so rounding and
// zone handling by a store show. It lies in the future, so no store's own
// clock finds these sessions ended.
var adminBase = time.Date(2036, 3, 9, 10, 11, 12, 123456789, time.FixedZone("CET", 3600))

func newSession(id string, at time.Time) admin.Session {
	return admin.Session{ID: id, CreatedAt: at, LastSeen: at.Add(time.Minute), ExpiresAt: at.Add(24 * time.Hour), Password: "fp-" + id}
}

func testAdminPassword(t *testing.T, s admin.Store) {
	ctx := context.Background()
	if _, err := s.AdminPassword(ctx); !errors.Is(err, admin.ErrNoPassword) {
		t.Fatalf("AdminPassword on an empty store: %v, want ErrNoPassword", err)
	}
	for _, hash := range []string{"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=8,t=1,p=1$b3RoZXI$b3RoZXI"} {
		if err := s.SetAdminPassword(ctx, hash); err != nil {
			t.Fatal(err)
		}
		got, err := s.AdminPassword(ctx)
		if err != nil || got != hash {
			t.Fatalf("AdminPassword = %q, %v; want %q", got, err, hash)
		}
	}
}

func testAdminSessionRoundTrip(t *testing.T, s admin.Store) {
	ctx := context.Background()
	want := newSession("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0", adminBase)
	if err := s.AddAdminSession(ctx, want); err != nil {
		t.Fatal(err)
	}
	other := newSession("other", adminBase.Add(time.Hour))
	if err := s.AddAdminSession(ctx, other); err != nil {
		t.Fatal(err)
	}
	checkSession(t, s, want)
	checkSession(t, s, other)
	// Adding one with the same ID replaces it.
	again := newSession(want.ID, adminBase.Add(2*time.Hour))
	again.Password = "changed"
	if err := s.AddAdminSession(ctx, again); err != nil {
		t.Fatal(err)
	}
	checkSession(t, s, again)
}

// checkSession fails unless the store holds want, in UTC.
func checkSession(t *testing.T, s admin.Store, want admin.Session) {
	t.Helper()
	got, err := s.AdminSession(context.Background(), want.ID)
	if err != nil {
		t.Fatalf("AdminSession(%s): %v", want.ID, err)
	}
	for _, tm := range []time.Time{got.CreatedAt, got.LastSeen, got.ExpiresAt} {
		if tm.Location() != time.UTC {
			t.Errorf("a time came back in %v, want UTC", tm.Location())
		}
	}
	if got.ID != want.ID || !got.CreatedAt.Equal(want.CreatedAt) || !got.LastSeen.Equal(want.LastSeen) ||
		!got.ExpiresAt.Equal(want.ExpiresAt) || got.Password != want.Password {
		t.Errorf("AdminSession(%s) =\n %+v\nwant\n %+v", want.ID, got, want)
	}
}

func testAdminSessionNotFound(t *testing.T, s admin.Store) {
	ctx := context.Background()
	if err := s.AddAdminSession(ctx, newSession("there", adminBase)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminSession(ctx, "absent"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("AdminSession(absent): %v, want ErrNotFound", err)
	}
	if err := s.TouchAdminSession(ctx, "absent", adminBase, adminBase.Add(time.Hour)); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("TouchAdminSession(absent): %v, want ErrNotFound", err)
	}
	if _, err := s.AdminSession(ctx, "absent"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("touching an absent session created it: %v", err)
	}
}

func testAdminTouchSession(t *testing.T, s admin.Store) {
	ctx := context.Background()
	sess := newSession("touched", adminBase)
	if err := s.AddAdminSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	seen, expires := adminBase.Add(90*time.Minute+7), adminBase.Add(3*time.Hour+9)
	if err := s.TouchAdminSession(ctx, sess.ID, seen, expires); err != nil {
		t.Fatal(err)
	}
	sess.LastSeen, sess.ExpiresAt = seen, expires
	checkSession(t, s, sess)
}

func testAdminDeleteSession(t *testing.T, s admin.Store) {
	ctx := context.Background()
	for _, id := range []string{"a", "b"} {
		if err := s.AddAdminSession(ctx, newSession(id, adminBase)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteAdminSession(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdminSession(ctx, "a"); !errors.Is(err, admin.ErrNotFound) {
		t.Errorf("a deleted session: %v, want ErrNotFound", err)
	}
	checkSession(t, s, newSession("b", adminBase))
	if err := s.DeleteAdminSession(ctx, "a"); err != nil {
		t.Errorf("deleting an absent session: %v", err)
	}
}

func testLoginFailures(t *testing.T, s admin.Store) {
	ctx := context.Background()
	count := func(client string, since time.Time) int {
		t.Helper()
		n, err := s.LoginFailures(ctx, client, since)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("c1", time.Time{}); n != 0 {
		t.Fatalf("an empty store counts %d failures", n)
	}
	keep := 24 * time.Hour
	for _, at := range []time.Time{adminBase, adminBase.Add(time.Minute), adminBase.Add(time.Minute), adminBase.Add(2 * time.Minute)} {
		if err := s.AddLoginFailure(ctx, "c1", at, keep); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddLoginFailure(ctx, "c2", adminBase.Add(time.Minute), keep); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		client string
		since  time.Time
		want   int
	}{
		{"c1", time.Time{}, 4},
		{"c1", adminBase, 4},
		{"c1", adminBase.Add(1), 3},
		{"c1", adminBase.Add(time.Minute), 3},
		{"c1", adminBase.Add(time.Minute + 1), 1},
		{"c1", adminBase.Add(2 * time.Minute), 1},
		{"c1", adminBase.Add(2*time.Minute + 1), 0},
		{"c2", time.Time{}, 1},
		{"c3", time.Time{}, 0},
	} {
		if n := count(tc.client, tc.since); n != tc.want {
			t.Errorf("LoginFailures(%s, %v) = %d, want %d", tc.client, tc.since, n, tc.want)
		}
	}
	if err := s.ClearLoginFailures(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if n := count("c1", time.Time{}); n != 0 {
		t.Errorf("after ClearLoginFailures: %d failures", n)
	}
	if n := count("c2", time.Time{}); n != 1 {
		t.Errorf("clearing c1 changed c2: %d failures", n)
	}
	if err := s.ClearLoginFailures(ctx, "nobody"); err != nil {
		t.Errorf("clearing a client without failures: %v", err)
	}
	if err := s.AddLoginFailure(ctx, "c1", adminBase.Add(3*time.Minute), keep); err != nil {
		t.Fatal(err)
	}
	if n := count("c1", time.Time{}); n != 1 {
		t.Errorf("a failure after clearing: %d, want 1", n)
	}
}

// Failures older than keep may be forgotten, but recent ones never are, and
// a count from a recent since is exact whatever the store forgot.
func testLoginFailuresForgetOld(t *testing.T, s admin.Store) {
	ctx := context.Background()
	keep := time.Hour
	for i := range 5 {
		at := adminBase.Add(time.Duration(i) * 30 * time.Minute)
		if err := s.AddLoginFailure(ctx, "c", at, keep); err != nil {
			t.Fatal(err)
		}
	}
	// The last failure is at +2h: +1h, +1h30 and +2h are within keep.
	n, err := s.LoginFailures(ctx, "c", adminBase.Add(time.Hour))
	if err != nil || n != 3 {
		t.Errorf("LoginFailures within keep = %d, %v; want 3", n, err)
	}
	if n, err := s.LoginFailures(ctx, "c", time.Time{}); err != nil || n < 3 || n > 5 {
		t.Errorf("LoginFailures of all = %d, %v; want 3 to 5", n, err)
	}
}

// Failures recorded at once from many goroutines all count.
func testLoginFailuresRace(t *testing.T, s admin.Store) {
	ctx := context.Background()
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				at := adminBase.Add(time.Duration(w*each+i) * time.Millisecond)
				if err := s.AddLoginFailure(ctx, "racer", at, 24*time.Hour); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.LoginFailures(ctx, "racer", time.Time{}); err != nil || n != workers*each {
		t.Errorf("LoginFailures = %d, %v; want %d", n, err, workers*each)
	}
}
