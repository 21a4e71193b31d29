package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/store/storetest"
)

func TestRestore(t *testing.T) {
	storetest.TestRestore(t, func(t *testing.T) storetest.RestoreStore {
		return open(t, filepath.Join(t.TempDir(), "tidings.db"))
	})
}
