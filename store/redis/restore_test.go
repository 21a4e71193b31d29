package redis_test

import (
	"testing"

	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

func TestRestoreServer(t *testing.T) {
	storetest.TestRestore(t, func(t *testing.T) storetest.RestoreStore {
		return open(t, redistest.Server(t))
	})
}

func TestRestoreCluster(t *testing.T) {
	storetest.TestRestore(t, func(t *testing.T) storetest.RestoreStore {
		return open(t, redistest.Cluster(t))
	})
}
