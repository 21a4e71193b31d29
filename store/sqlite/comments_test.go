package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/store/storetest"
)

func TestComments(t *testing.T) {
	storetest.TestComments(t, func(t *testing.T) comments.Store {
		return open(t, filepath.Join(t.TempDir(), "tidings.db"))
	})
}

// BenchmarkCommentsSubmit measures what one comment submission asks of the
// store; see storetest.BenchmarkCommentsSubmit.
func BenchmarkCommentsSubmit(b *testing.B) {
	storetest.BenchmarkCommentsSubmit(b, open(b, filepath.Join(b.TempDir(), "bench.db")))
}
