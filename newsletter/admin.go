package newsletter

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ImportReport counts what Import did.
type ImportReport struct {
	Added     int // new subscribers, confirmed
	Confirmed int // pending ones now confirmed
	Known     int // already confirmed
	// Kept counts addresses left as they were because they unsubscribed or
	// bounced: an import must not undo an opt-out.
	Kept int
	Bad  int // rows refused (reported through the callback)
}

// ImportConsentPage marks the consent record of imported subscribers: the
// operator vouched for their consent.
const ImportConsentPage = "import"

// importBatch is how many addresses Import stores in one AddSubscribers call.
const importBatch = 500

// Import reads a CSV whose first column is an address (a first row without
// an @ is taken as a header) and adds each address as confirmed. A bad row
// is passed to bad with its line number and skipped; only a read or store
// error stops the import. Rows are streamed and stored importBatch at a time,
// never all held.
func (s *Service) Import(ctx context.Context, r io.Reader, bad func(line int, err error)) (ImportReport, error) {
	var rep ImportReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	addrs := make([]string, 0, importBatch)
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rep, s.importBatch(ctx, addrs, &rep)
		}
		line, _ := cr.FieldPos(0)
		var perr *csv.ParseError
		if errors.As(err, &perr) {
			rep.Bad++
			bad(perr.Line, fmt.Errorf("not CSV: %v", perr.Err))
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("newsletter: import: %w", err)
		}
		if len(rec) == 0 || strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if row == 1 && !strings.Contains(rec[0], "@") {
			continue // a header
		}
		addr, err := NormaliseAddress(rec[0])
		if err != nil {
			rep.Bad++
			bad(line, err)
			continue
		}
		if addrs = append(addrs, addr); len(addrs) == importBatch {
			if err := s.importBatch(ctx, addrs, &rep); err != nil {
				return rep, err
			}
			addrs = addrs[:0]
		}
	}
}

// importBatch adds addrs as confirmed subscribers in one AddSubscribers call
// and confirms those found pending; an address unsubscribed or bounced is
// left alone.
func (s *Service) importBatch(ctx context.Context, addrs []string, rep *ImportReport) error {
	if len(addrs) == 0 {
		return nil
	}
	now := s.now()
	subs := make([]Subscriber, len(addrs))
	for i, addr := range addrs {
		subs[i] = Subscriber{
			Index:       s.o.Keys.BlindIndex(IndexForm(addr)),
			Sealed:      s.o.Keys.Seal(addr),
			Status:      Confirmed,
			CreatedAt:   now,
			ConfirmedAt: now,
			ConsentAt:   now,
			ConsentPage: ImportConsentPage,
		}
	}
	res, err := s.o.Store.AddSubscribers(ctx, subs)
	if err != nil {
		return fmt.Errorf("newsletter: import: %w", err)
	}
	confirmed := map[int64]bool{} // pending ones this batch confirmed
	for _, r := range res {
		sub := r.Subscriber
		switch {
		case r.Created:
			rep.Added++
		case sub.Status == Confirmed || confirmed[sub.ID]:
			rep.Known++ // also an address given twice
		case sub.Status == Pending:
			sub.Status, sub.ConfirmedAt, sub.ConsentAt, sub.ConsentPage = Confirmed, now, now, ImportConsentPage
			if err := s.o.Store.UpdateSubscriber(ctx, sub); err != nil {
				return fmt.Errorf("newsletter: import: %w", err)
			}
			confirmed[sub.ID] = true
			rep.Confirmed++
		default:
			rep.Kept++
		}
	}
	return nil
}

// EachSubscriber calls fn with every subscriber (of status, or any if
// empty) and its address, in ascending ID order, a page at a time.
func (s *Service) EachSubscriber(ctx context.Context, status Status, fn func(sub Subscriber, addr string) error) error {
	var after int64
	for {
		subs, err := s.o.Store.Subscribers(ctx, SubscriberFilter{Status: status, AfterID: after, Limit: planPage})
		if err != nil {
			return fmt.Errorf("newsletter: listing subscribers: %w", err)
		}
		for _, sub := range subs {
			addr, err := s.o.Keys.Open(sub.Sealed)
			if err != nil {
				return fmt.Errorf("newsletter: subscriber %d: address cannot be decrypted (is the secret key the one it was stored with?): %w", sub.ID, err)
			}
			if err := fn(sub, addr); err != nil {
				return err
			}
		}
		if len(subs) < planPage {
			return nil
		}
		after = subs[len(subs)-1].ID
	}
}

// Export writes every subscriber as CSV: email, status, created_at,
// confirmed_at (RFC 3339, empty when unset), with a header row.
func (s *Service) Export(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"email", "status", "created_at", "confirmed_at"})
	err := s.EachSubscriber(ctx, "", func(sub Subscriber, addr string) error {
		return cw.Write([]string{addr, string(sub.Status), rfc3339(sub.CreatedAt), rfc3339(sub.ConfirmedAt)})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return err
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Counts counts subscribers by status.
func (s *Service) Counts(ctx context.Context) (map[Status]int, error) {
	return s.o.Store.CountSubscribers(ctx)
}

// DryRun counts the subscribers a send of the current moment would owe the
// issue, without planning or sending anything.
func (s *Service) DryRun(ctx context.Context) (int, error) {
	c, err := s.o.Store.CountSubscribers(ctx)
	if err != nil {
		return 0, fmt.Errorf("newsletter: %w", err)
	}
	return c[Confirmed], nil
}
