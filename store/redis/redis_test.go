package redis_test

import (
	"testing"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/redis"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// open connects to rawURL and closes the store when t ends.
func open(t *testing.T, rawURL string) *redis.Store {
	t.Helper()
	s, err := redis.Open(t.Context(), rawURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

func TestFeedsStoreServer(t *testing.T) {
	storetest.TestFeedsStore(t, func(t *testing.T) feeds.Store {
		return open(t, redistest.Server(t))
	})
}

func TestFeedsStoreCluster(t *testing.T) {
	storetest.TestFeedsStore(t, func(t *testing.T) feeds.Store {
		return open(t, redistest.Cluster(t))
	})
}
