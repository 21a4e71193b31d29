package storetest

import (
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

// BenchmarkNewsletterSend measures the store's share of a send and of an
// import, the steps that grow with the list. s must be empty.
//
//   - plan-page-of-1000: PlanDeliveries of 1,000 subscriber IDs, as the
//     sender plans.
//   - claim-50-finish-batch: ClaimDeliveries of 50 and one FinishDeliveries
//     of all 50 (the sender's finisher writes what its workers finished
//     meanwhile in one call); claim-50-finish-each finishes them one call
//     each, as a send without group commit would.
//   - read-50-by-id: SubscribersByID of a claimed batch's 50 subscribers;
//     read-50-each reads them one Subscriber call each.
//   - add-500-batch: AddSubscribers of 500 new subscribers, as an import
//     does; add-500-each adds them one AddSubscriber call each.
//
// ns/delivery and ns/subscriber divide the time by the work done. The
// planned IDs are not subscribers: PlanDeliveries does not look them up.
func BenchmarkNewsletterSend(b *testing.B, s newsletter.Store) {
	const week, page, batch, importBatch = "2026-W10", 1000, 50, 500
	if _, _, err := s.SaveIssue(b.Context(), newIssue(week)); err != nil {
		b.Fatal(err)
	}
	planned := 0
	planPage := func(b *testing.B) {
		ids := make([]int64, page)
		for i := range ids {
			planned++
			ids[i] = int64(planned)
		}
		n, err := s.PlanDeliveries(b.Context(), week, ids)
		if err != nil || n != page {
			b.Fatalf("PlanDeliveries = %d, %v; want %d", n, err, page)
		}
	}
	b.Run("plan-page-of-1000", func(b *testing.B) {
		for b.Loop() {
			planPage(b)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*page), "ns/delivery")
	})
	claimAndFinish := func(b *testing.B, finish func(ds []newsletter.Delivery) error) {
		done := 0
		for b.Loop() {
			ds, err := s.ClaimDeliveries(b.Context(), week, "bench", batch, base, time.Hour)
			if err != nil {
				b.Fatal(err)
			}
			if len(ds) == 0 { // all sent: plan another page
				b.StopTimer()
				planPage(b)
				b.StartTimer()
				continue
			}
			for i := range ds {
				ds[i].State, ds[i].Attempts, ds[i].SentAt = newsletter.DeliverySent, 1, base
			}
			if err := finish(ds); err != nil {
				b.Fatal(err)
			}
			done += len(ds)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(max(done, 1)), "ns/delivery")
	}
	b.Run("claim-50-finish-batch", func(b *testing.B) {
		claimAndFinish(b, func(ds []newsletter.Delivery) error { return s.FinishDeliveries(b.Context(), ds) })
	})
	b.Run("claim-50-finish-each", func(b *testing.B) {
		claimAndFinish(b, func(ds []newsletter.Delivery) error {
			for _, d := range ds {
				if err := s.FinishDeliveries(b.Context(), []newsletter.Delivery{d}); err != nil {
					return err
				}
			}
			return nil
		})
	})

	added := 0
	fresh := func(n int) []newsletter.Subscriber {
		subs := make([]newsletter.Subscriber, n)
		for i := range subs {
			subs[i] = newSubscriber(added)
			added++
		}
		return subs
	}
	b.Run("add-500-batch", func(b *testing.B) {
		for b.Loop() {
			res, err := s.AddSubscribers(b.Context(), fresh(importBatch))
			if err != nil || len(res) != importBatch || !res[0].Created {
				b.Fatalf("AddSubscribers = %d results, %v", len(res), err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*importBatch), "ns/subscriber")
	})
	b.Run("add-500-each", func(b *testing.B) {
		for b.Loop() {
			for _, sub := range fresh(importBatch) {
				if _, created, err := s.AddSubscriber(b.Context(), sub); err != nil || !created {
					b.Fatalf("AddSubscriber = %v, %v", created, err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*importBatch), "ns/subscriber")
	})

	subs, err := s.Subscribers(b.Context(), newsletter.SubscriberFilter{Limit: 1000})
	if err != nil || len(subs) < batch {
		b.Fatalf("Subscribers = %d, %v; want at least %d", len(subs), err, batch)
	}
	ids := subscriberIDs(subs)
	b.Run("read-50-by-id", func(b *testing.B) {
		n := 0
		for b.Loop() {
			from := n % (len(ids) - batch)
			got, err := s.SubscribersByID(b.Context(), ids[from:from+batch])
			if err != nil || len(got) != batch {
				b.Fatalf("SubscribersByID = %d, %v", len(got), err)
			}
			n += batch
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/subscriber")
	})
	b.Run("read-50-each", func(b *testing.B) {
		n := 0
		for b.Loop() {
			from := n % (len(ids) - batch)
			for _, id := range ids[from : from+batch] {
				if _, err := s.Subscriber(b.Context(), id); err != nil {
					b.Fatal(err)
				}
			}
			n += batch
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/subscriber")
	})
}
