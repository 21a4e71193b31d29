package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/store/storetest"
)

// Two stores on one file are two processes sharing it, in effect.
func TestChanges(t *testing.T) {
	storetest.TestChanges(t, func(t *testing.T) (storetest.Changes, storetest.Changes) {
		path := filepath.Join(t.TempDir(), "tidings.db")
		return open(t, path), open(t, path)
	})
}
