package redis

import (
	"testing"

	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store/redistest"
	"github.com/tidings/tidings/store/storetest"
)

// The suite's fixtures are small; walking intersections two members at a
// time makes them cross many steps.
func TestFeedsStoreSmallScanSteps(t *testing.T) {
	storetest.TestFeedsStore(t, func(t *testing.T) feeds.Store {
		s, err := Open(t.Context(), redistest.Server(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.scanChunk = 2
		return s
	})
}
