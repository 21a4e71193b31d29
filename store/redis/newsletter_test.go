package redis_test

import (
	"testing"

	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

func TestNewsletterServer(t *testing.T) {
	storetest.TestNewsletter(t, func(t *testing.T) newsletter.Store {
		return open(t, redistest.Server(t))
	})
}

func TestNewsletterCluster(t *testing.T) {
	storetest.TestNewsletter(t, func(t *testing.T) newsletter.Store {
		return open(t, redistest.Cluster(t))
	})
}

// BenchmarkNewsletterSendServer plans and claims deliveries on one server;
// see storetest.BenchmarkNewsletterSend.
func BenchmarkNewsletterSendServer(b *testing.B) {
	storetest.BenchmarkNewsletterSend(b, open(b, redistest.Server(b)))
}

// BenchmarkNewsletterSendCluster does the same on a 3-master cluster.
func BenchmarkNewsletterSendCluster(b *testing.B) {
	storetest.BenchmarkNewsletterSend(b, open(b, redistest.Cluster(b)))
}
