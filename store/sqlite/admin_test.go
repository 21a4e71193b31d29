package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/store/storetest"
)

func TestAdmin(t *testing.T) {
	storetest.TestAdmin(t, func(t *testing.T) admin.Store {
		return open(t, filepath.Join(t.TempDir(), "tidings.db"))
	})
}
