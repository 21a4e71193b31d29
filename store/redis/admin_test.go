package redis_test

import (
	"testing"

	"github.com/tidings/tidings/admin"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

func TestAdminServer(t *testing.T) {
	storetest.TestAdmin(t, func(t *testing.T) admin.Store {
		return open(t, redistest.Server(t))
	})
}

func TestAdminCluster(t *testing.T) {
	storetest.TestAdmin(t, func(t *testing.T) admin.Store {
		return open(t, redistest.Cluster(t))
	})
}
