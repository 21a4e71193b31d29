package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/storetest"
)

func TestNewsletter(t *testing.T) {
	storetest.TestNewsletter(t, func(t *testing.T) newsletter.Store {
		return open(t, filepath.Join(t.TempDir(), "tidings.db"))
	})
}

// BenchmarkNewsletterSend plans and claims deliveries; see
// storetest.BenchmarkNewsletterSend.
func BenchmarkNewsletterSend(b *testing.B) {
	storetest.BenchmarkNewsletterSend(b, open(b, filepath.Join(b.TempDir(), "bench.db")))
}
