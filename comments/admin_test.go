package comments_test

import (
	"strings"
	"testing"
)

// Email opens the address a commenter gave, for the moderation queue; a
// damaged sealed address is an error that does not quote it.
func TestEmail(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	c := f.submit(t, f.sub("Ada", "Ada.Lovelace@Example.org", "Metadata is data."))
	addr, err := f.svc.Email(c)
	if err != nil || !strings.EqualFold(addr, "Ada.Lovelace@Example.org") {
		t.Fatalf("Email = %q, %v", addr, err)
	}
	c.EmailSealed = append([]byte(nil), c.EmailSealed...)
	c.EmailSealed[len(c.EmailSealed)-1] ^= 1
	if addr, err := f.svc.Email(c); err == nil || addr != "" || strings.Contains(strings.ToLower(err.Error()), "lovelace") {
		t.Errorf("a damaged address: %q, %v", addr, err)
	}
}
