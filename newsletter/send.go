package newsletter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tidings/tidings/mail"
)

// SendOptions tune one run of Send.
type SendOptions struct {
	// Owner names this process in delivery claims; default a random name.
	Owner string
	// Workers is how many messages are in flight at once; default 4 (match
	// the mail transport's connections).
	Workers int
	// Batch is how many deliveries a worker claims at a time; default 10. A
	// worker's batch is recorded while it goes on sending, and waited for
	// before the next claim, so at most Workers×Batch messages accepted by
	// the mail server are unrecorded when the process dies: those may go twice.
	Batch int
	// Lease is how long a claim hides deliveries from other processes; a
	// crashed sender's claims become claimable again after it. Default 2m.
	Lease time.Duration
	// MaxAttempts bounds the tries of a delivery that fails temporarily
	// (4xx); default 5.
	MaxAttempts int
	// RetryBase is the back-off after the first temporary failure, doubled
	// for each further one; default 1m.
	RetryBase time.Duration
	// Progress, when set, is called now and then (at most five times a
	// second) with the counts so far.
	Progress func(SendReport)
}

// SendReport counts the outcome of a send.
type SendReport struct {
	Week string
	// Planned is the number of subscribers owed the issue (known once
	// planning has finished; until then, planned so far).
	Planned int
	// Sent, Failed and Skipped count the deliveries done, by anyone, so far;
	// Bounced counts the subscribers this run marked bounced.
	Sent, Failed, Skipped, Bounced int
	// Pending is what is still owed.
	Pending int
}

// Done is the number of deliveries finished.
func (r SendReport) Done() int { return r.Sent + r.Failed + r.Skipped }

// Defaults for SendOptions.
const (
	DefaultWorkers = 4
	DefaultBatch   = 10
)

// HardFailuresToBounce is how many permanent failures in a row make a
// subscriber Bounced.
const HardFailuresToBounce = 3

// Send delivers the week's issue (composed now if it is the current week
// and not composed yet) to every subscriber confirmed when its first send
// started. It resumes a send that was interrupted, shares the work with other
// processes sending the same issue, and returns when nothing is owed any more.
// A second Send of a finished issue sends nothing.
func (s *Service) Send(ctx context.Context, week string, o SendOptions) (SendReport, error) {
	o = o.withDefaults()
	is, err := s.issueToSend(ctx, week)
	if err != nil {
		return SendReport{Week: week}, err
	}
	prepared, err := s.prepare(is)
	if err != nil {
		return SendReport{Week: is.Week}, err
	}
	r := &run{s: s, o: o, is: is, prepared: prepared}
	return r.send(ctx)
}

func (o SendOptions) withDefaults() SendOptions {
	if o.Owner == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		o.Owner = "sender-" + hex.EncodeToString(b[:])
	}
	if o.Workers <= 0 {
		o.Workers = DefaultWorkers
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	return o
}

// issueToSend finds the week's issue, composing the current week's if need
// be, and marks its send as started.
func (s *Service) issueToSend(ctx context.Context, week string) (Issue, error) {
	is, err := s.IssueFor(ctx, week)
	if err != nil {
		return Issue{}, err
	}
	if is.SendStartedAt.IsZero() {
		is.SendStartedAt = s.now()
		if err := s.o.Store.UpdateIssueSend(ctx, is); err != nil {
			return Issue{}, fmt.Errorf("newsletter: send %s: %w", is.Week, err)
		}
		// Another process may have started the same send a moment earlier:
		// every process must plan with the same moment.
		if is, err = s.o.Store.Issue(ctx, is.Week); err != nil {
			return Issue{}, fmt.Errorf("newsletter: send: %w", err)
		}
	}
	return is, nil
}

// prepare renders the issue's message once; each delivery fills in only its
// recipient's parts.
func (s *Service) prepare(is Issue) (*mail.Prepared, error) {
	p, err := mail.Prepare(mail.Message{
		From:     s.o.From,
		Subject:  is.Subject,
		Text:     is.Text,
		HTML:     is.HTML,
		Date:     is.SendStartedAt,
		OneClick: true,
	}, UnsubscribePlaceholder)
	if err != nil {
		return nil, fmt.Errorf("newsletter: preparing issue %s: %w", is.Week, err)
	}
	return p, nil
}

// run is one Send in progress.
type run struct {
	s        *Service
	o        SendOptions
	is       Issue
	prepared *mail.Prepared

	// fin carries finished deliveries to the finisher (see finisher).
	fin   chan finishRequest
	flush chan struct{} // a worker waits for its answers: commit now

	mu           sync.Mutex
	bounced      int
	lastProgress time.Time
}

// finishRequest is one delivery's outcome handed to the finisher, and where
// the finisher answers once it is recorded.
type finishRequest struct {
	d    Delivery
	done chan<- error
}

func (r *run) send(ctx context.Context) (SendReport, error) {
	st := r.s.o.Store
	if !r.is.Planned {
		if err := r.plan(ctx); err != nil {
			return r.report(ctx), err
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, r.o.Workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Buffered, so that a worker does not wait for a commit under way to
	// hand over an outcome: every worker's batch fits.
	r.fin = make(chan finishRequest, r.o.Workers*r.o.Batch)
	r.flush = make(chan struct{}, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		r.finisher(context.WithoutCancel(ctx))
	}()
	for range r.o.Workers {
		wg.Go(func() {
			if err := r.work(ctx); err != nil {
				errs <- err
				cancel()
			}
		})
	}
	wg.Wait()
	close(r.fin)
	<-finished
	close(errs)
	if err := errors.Join(collect(errs)...); err != nil {
		return r.report(context.WithoutCancel(ctx)), err
	}
	if err := ctx.Err(); err != nil {
		return r.report(context.WithoutCancel(ctx)), err
	}
	rep := r.report(ctx)
	if rep.Pending == 0 {
		is, err := st.Issue(ctx, r.is.Week)
		if err == nil && is.SentAt.IsZero() {
			is.SentAt = r.s.now()
			err = st.UpdateIssueSend(ctx, is)
		}
		if err != nil {
			return rep, fmt.Errorf("newsletter: send %s: %w", r.is.Week, err)
		}
	}
	return rep, nil
}

func collect(errs <-chan error) []error {
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return all
}

// planPage is how many subscribers planning reads at a time.
const planPage = 1000

// plan adds a delivery for every subscriber confirmed when the send started,
// a page at a time, recording how far it got so that a resumed send goes on
// from there. Several processes may plan at once: planning is idempotent.
func (r *run) plan(ctx context.Context) error {
	st := r.s.o.Store
	is := r.is
	cutoff := is.SendStartedAt
	ids := make([]int64, 0, planPage)
	for {
		subs, err := st.Subscribers(ctx, SubscriberFilter{Status: Confirmed, AfterID: is.PlannedThrough, Limit: planPage})
		if err != nil {
			return fmt.Errorf("newsletter: planning %s: %w", is.Week, err)
		}
		ids = ids[:0]
		for _, sub := range subs {
			if !sub.ConfirmedAt.After(cutoff) {
				ids = append(ids, sub.ID)
			}
		}
		if _, err := st.PlanDeliveries(ctx, is.Week, ids); err != nil {
			return fmt.Errorf("newsletter: planning %s: %w", is.Week, err)
		}
		if len(subs) < planPage {
			is.Planned = true
		} else {
			is.PlannedThrough = subs[len(subs)-1].ID
		}
		if err := st.UpdateIssueSend(ctx, is); err != nil {
			return fmt.Errorf("newsletter: planning %s: %w", is.Week, err)
		}
		r.progress(ctx)
		if is.Planned {
			r.is = is
			return nil
		}
	}
}

// work claims and delivers batches until nothing is owed. Deliveries claimed
// by others (or waiting for a retry) are waited for, so that the send ends
// only when everything is done: the claims of a crashed process come back
// when their lease ends. A batch's subscribers are read in one call.
func (r *run) work(ctx context.Context) error {
	st := r.s.o.Store
	f := &finishes{fin: r.fin, flush: r.flush, done: make(chan error, r.o.Batch)}
	ids := make([]int64, 0, r.o.Batch)
	for {
		// The previous batch is recorded before more is claimed.
		if err := f.wait(); err != nil {
			return err
		}
		batch, err := st.ClaimDeliveries(ctx, r.is.Week, r.o.Owner, r.o.Batch, r.s.now(), r.o.Lease)
		if err != nil {
			return fmt.Errorf("newsletter: send %s: %w", r.is.Week, err)
		}
		if len(batch) == 0 {
			c, err := st.CountDeliveries(ctx, r.is.Week)
			if err != nil {
				return fmt.Errorf("newsletter: send %s: %w", r.is.Week, err)
			}
			if c.Pending == 0 {
				return nil
			}
			select { // someone else's claim, or a back-off: look again soon
			case <-ctx.Done():
				return nil
			case <-time.After(pollWait(r.o.Lease)):
			}
			continue
		}
		ids = ids[:0]
		for _, d := range batch {
			ids = append(ids, d.SubscriberID)
		}
		subs, err := st.SubscribersByID(ctx, ids)
		if ctx.Err() != nil {
			return nil // the claims come back when their lease ends
		}
		if err != nil {
			return fmt.Errorf("newsletter: send %s: %w", r.is.Week, err)
		}
		if err := r.deliver(ctx, batch, subs, f); err != nil {
			return errors.Join(err, f.wait())
		}
	}
}

// finishes are one worker's deliveries handed to the finisher and not yet
// answered.
type finishes struct {
	fin     chan<- finishRequest
	flush   chan<- struct{}
	done    chan error // capacity: the batch, so the finisher never waits on it
	pending int
}

// add hands d to the finisher without waiting.
func (f *finishes) add(d Delivery) {
	f.fin <- finishRequest{d: d, done: f.done}
	f.pending++
}

// wait returns once every delivery handed over is recorded, with the first
// error.
func (f *finishes) wait() error {
	if f.pending > 0 {
		// Every one is handed over, in the finisher's group or in r.fin's
		// buffer: ask it to write them now.
		select {
		case f.flush <- struct{}{}:
		default: // a flush is asked for already
		}
	}
	var first error
	for ; f.pending > 0; f.pending-- {
		if err := <-f.done; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// finisher records finished deliveries for every worker of the run, until
// r.fin is closed. Workers hand over each delivery as it is done and go on
// sending; they wait for the answers before their next claim, so at most a
// batch per worker has been accepted by the mail server but not recorded,
// should the process die. The finisher gathers what comes in and writes it
// in one commit when a worker waits for its answers, when every worker's
// batch is in, or finishLinger after the first: one commit serves many
// messages.
func (r *run) finisher(ctx context.Context) {
	var group []finishRequest
	var ds []Delivery
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	full := r.o.Workers * r.o.Batch
	for open := true; open; {
		select {
		case req, ok := <-r.fin:
			if open = ok; ok {
				group = append(group, req)
				if len(group) == 1 {
					linger.Reset(finishLinger)
				}
				if len(group) < full {
					continue
				}
			}
		case <-r.flush:
		case <-linger.C:
		}
		group = r.drain(group)
		if len(group) == 0 {
			continue
		}
		linger.Stop()
		ds = ds[:0]
		for _, g := range group {
			ds = append(ds, g.d)
		}
		err := r.s.o.Store.FinishDeliveries(ctx, ds)
		if errors.Is(err, ErrNotFound) {
			// Subscribers erased meanwhile, and their deliveries with them:
			// nothing left to record; the rest is written.
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("newsletter: send %s: %w", r.is.Week, err)
		}
		for _, g := range group {
			g.done <- err
		}
		group = group[:0]
	}
}

// drain adds to group what is waiting in r.fin: a worker asking for a
// flush has handed its deliveries over before, into the channel's buffer.
func (r *run) drain(group []finishRequest) []finishRequest {
	for {
		select {
		case req, ok := <-r.fin:
			if !ok {
				return group
			}
			group = append(group, req)
		default:
			return group
		}
	}
}

// finishLinger bounds how long a finished delivery waits for others to share
// its commit.
const finishLinger = 20 * time.Millisecond

// pollWait is how long a worker with nothing to claim waits before looking
// again.
func pollWait(lease time.Duration) time.Duration {
	return min(time.Second, max(lease/20, 10*time.Millisecond))
}

// deliver sends a batch's messages to their subscribers (subs: those not
// erased) over one mail connection, and hands each outcome to the finisher as
// it comes. Only store errors and errors of the mail setup stop the send;
// other mail errors are the delivery's outcome.
func (r *run) deliver(ctx context.Context, batch []Delivery, subs map[int64]Subscriber, f *finishes) error {
	msgs := make([]mail.Outgoing, 0, len(batch))
	of := make([]Delivery, 0, len(batch)) // the delivery of each message
	for _, d := range batch {
		sub, found := subs[d.SubscriberID]
		if !found || sub.Status != Confirmed {
			d.State = DeliverySkipped
			f.add(d)
			continue
		}
		addr, err := r.s.o.Keys.Open(sub.Sealed)
		if err != nil {
			d.State, d.LastError = DeliveryFailed, "address cannot be decrypted (wrong secret key?)"
			f.add(d)
			continue
		}
		raw, err := r.prepared.Render(nil, mail.Recipient{
			To:        addr,
			MessageID: r.s.messageID("digest", fmt.Sprintf("%s.%d", r.is.Week, sub.ID)),
			URL:       r.s.UnsubscribeURL(sub.ID),
		})
		if err != nil {
			if err := r.outcome(ctx, d, sub, err, f); err != nil {
				return err
			}
			continue
		}
		msgs = append(msgs, mail.Outgoing{To: addr, Raw: raw})
		of = append(of, d)
	}
	var stop error
	mail.SendEach(mail.WithKind(ctx, mail.KindDigest), r.s.o.Mail, mailAddress(r.s.o.From), msgs, func(i int, err error) bool {
		stop = r.outcome(ctx, of[i], subs[of[i].SubscriberID], err, f)
		r.progress(ctx)
		return stop == nil && ctx.Err() == nil
	})
	return stop
}

// outcome records how sending d to sub went (err nil: the mail server took
// it).
func (r *run) outcome(ctx context.Context, d Delivery, sub Subscriber, err error, f *finishes) error {
	if setupError(err) {
		// About the mail server or our settings, not this subscriber: stop,
		// and let this delivery be claimed again at once by the next run.
		d.NotBefore = time.Time{}
		f.add(d)
		if ferr := f.wait(); ferr != nil {
			return ferr
		}
		return fmt.Errorf("newsletter: send %s stopped: %w", r.is.Week, err)
	}
	d.Attempts++
	now := r.s.now()
	switch {
	case err == nil:
		d.State, d.SentAt, d.LastError = DeliverySent, now, ""
		if sub.HardFailures > 0 {
			if err := r.updateSubscriber(ctx, sub.ID, func(s *Subscriber) { s.HardFailures = 0 }); err != nil {
				return err
			}
		}
	case ctx.Err() != nil:
		return nil // interrupted mid-message: the claim comes back later
	case mail.IsPermanent(err):
		d.State, d.LastError = DeliveryFailed, err.Error()
		if err := r.updateSubscriber(ctx, sub.ID, r.hardFailure); err != nil {
			return err
		}
	case d.Attempts >= r.o.MaxAttempts:
		d.State, d.LastError = DeliveryFailed, err.Error()
	default: // temporary: back off and let anyone claim it again later
		d.State, d.LastError = DeliveryPending, err.Error()
		d.NotBefore = now.Add(r.o.RetryBase << (d.Attempts - 1))
	}
	f.add(d)
	return nil
}

// setupError reports whether a mail error concerns the connection to the
// mail server or the sender, rather than the recipient: a wrong password, a
// refused sender address, a server that cannot be reached.
func setupError(err error) bool {
	var se *mail.SendError
	return errors.As(err, &se) && (se.Step == mail.StepConnect || se.Step == mail.StepMail && mail.IsPermanent(err))
}

// updateSubscriber applies change to the subscriber as stored now (the copy
// read with the batch may be a little old: an unsubscribe meanwhile must not
// be undone) and writes it back; a subscriber erased meanwhile is left alone.
func (r *run) updateSubscriber(ctx context.Context, id int64, change func(*Subscriber)) error {
	st := r.s.o.Store
	sub, err := st.Subscriber(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err == nil {
		change(&sub)
		err = st.UpdateSubscriber(ctx, sub)
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("newsletter: send %s: %w", r.is.Week, err)
	}
	return nil
}

// hardFailure counts a permanent failure against the subscriber and marks it
// bounced at HardFailuresToBounce.
func (r *run) hardFailure(sub *Subscriber) {
	sub.HardFailures++
	if sub.HardFailures >= HardFailuresToBounce && sub.Status == Confirmed {
		sub.Status = Bounced
		r.mu.Lock()
		r.bounced++
		r.mu.Unlock()
	}
}

// progressEvery bounds how often Progress is called (each call counts the
// deliveries in the store).
const progressEvery = 200 * time.Millisecond

func (r *run) progress(ctx context.Context) {
	if r.o.Progress == nil {
		return
	}
	r.mu.Lock()
	now := time.Now()
	due := now.Sub(r.lastProgress) >= progressEvery
	if due {
		r.lastProgress = now
	}
	r.mu.Unlock()
	if due {
		r.o.Progress(r.report(ctx))
	}
}

// report reads the counts from the store, so they include other processes'
// work.
func (r *run) report(ctx context.Context) SendReport {
	rep := SendReport{Week: r.is.Week}
	if c, err := r.s.o.Store.CountDeliveries(ctx, r.is.Week); err == nil {
		rep.Planned, rep.Sent, rep.Failed, rep.Skipped, rep.Pending = c.Total(), c.Sent, c.Failed, c.Skipped, c.Pending
	}
	r.mu.Lock()
	rep.Bounced = r.bounced
	r.mu.Unlock()
	return rep
}
