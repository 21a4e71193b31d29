package redis_test

import (
	"testing"

	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

func TestChangesServer(t *testing.T) {
	storetest.TestChanges(t, func(t *testing.T) (storetest.Changes, storetest.Changes) {
		u := redistest.Server(t)
		return open(t, u), open(t, u)
	})
}

func TestChangesCluster(t *testing.T) {
	storetest.TestChanges(t, func(t *testing.T) (storetest.Changes, storetest.Changes) {
		u := redistest.Cluster(t)
		return open(t, u), open(t, u)
	})
}
