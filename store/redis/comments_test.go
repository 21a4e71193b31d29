package redis_test

import (
	"testing"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

func TestCommentsServer(t *testing.T) {
	storetest.TestComments(t, func(t *testing.T) comments.Store {
		return open(t, redistest.Server(t))
	})
}

func TestCommentsCluster(t *testing.T) {
	storetest.TestComments(t, func(t *testing.T) comments.Store {
		return open(t, redistest.Cluster(t))
	})
}

// BenchmarkCommentsSubmitServer measures what one comment submission asks
// of one server; see storetest.BenchmarkCommentsSubmit.
func BenchmarkCommentsSubmitServer(b *testing.B) {
	storetest.BenchmarkCommentsSubmit(b, open(b, redistest.Server(b)))
}

// BenchmarkCommentsSubmitCluster does the same on a 3-master cluster.
func BenchmarkCommentsSubmitCluster(b *testing.B) {
	storetest.BenchmarkCommentsSubmit(b, open(b, redistest.Cluster(b)))
}
