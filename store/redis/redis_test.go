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
func open(t testing.TB, rawURL string) *redis.Store {
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

// BenchmarkSearchServer searches 10,000 stories on one server; see
// storetest.BenchmarkSearch.
func BenchmarkSearchServer(b *testing.B) {
	storetest.BenchmarkSearch(b, open(b, redistest.Server(b)))
}

// BenchmarkSearchCluster does the same on a 3-master cluster.
func BenchmarkSearchCluster(b *testing.B) {
	storetest.BenchmarkSearch(b, open(b, redistest.Cluster(b)))
}
