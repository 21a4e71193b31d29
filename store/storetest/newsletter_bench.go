package storetest

import (
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// BenchmarkNewsletterSend measures the two steps of a send that grow with the
// list: planning deliveries in pages of 1,000 subscriber IDs, as the sender
// does, and claiming them 50 at a time, each then reported sent (an
// iteration claims and finishes one batch). s must be
// empty. The planned IDs are not subscribers: PlanDeliveries does not look
// them up.
func BenchmarkNewsletterSend(b *testing.B, s newsletter.Store) {
	const week, page, batch = "2026-W10", 1000, 50
	if _, _, err := s.SaveIssue(b.Context(), newIssue(week)); err != nil {
		b.Fatal(err)
	}
	planned := 0
	b.Run("plan-page-of-1000", func(b *testing.B) {
		ids := make([]int64, page)
		for b.Loop() {
			for i := range ids {
				planned++
				ids[i] = int64(planned)
			}
			n, err := s.PlanDeliveries(b.Context(), week, ids)
			if err != nil || n != page {
				b.Fatalf("PlanDeliveries = %d, %v; want %d", n, err, page)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*page), "ns/delivery")
		b.ReportMetric(float64(planned), "planned")
	})
	b.Run("claim-50-and-finish", func(b *testing.B) {
		for b.Loop() {
			ds, err := s.ClaimDeliveries(b.Context(), week, "bench", batch, base, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 { // all sent: plan another page
				b.StopTimer()
				ids := make([]int64, page)
				for i := range ids {
					planned++
					ids[i] = int64(planned)
				}
				if _, err := s.PlanDeliveries(b.Context(), week, ids); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				continue
			}
			for _, d := range ds {
				d.State, d.Attempts, d.SentAt = newsletter.DeliverySent, 1, base
				if err := s.FinishDelivery(b.Context(), d); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
