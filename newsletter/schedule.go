package newsletter

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is a weekly moment, such as "Mon 08:00 UTC".
type Schedule struct {
	Weekday      time.Weekday
	Hour, Minute int
	Location     *time.Location
}

// ParseSchedule reads "DAY HH:MM [ZONE]": DAY an English weekday, full or
// three letters, any case; ZONE "UTC" (the default) or an IANA name such as
// "Europe/Berlin".
func ParseSchedule(s string) (Schedule, error) {
	fields := strings.Fields(s)
	if len(fields) < 2 || len(fields) > 3 {
		return Schedule{}, fmt.Errorf("newsletter: schedule %q: want a day, a time and a zone, like \"Mon 08:00 UTC\"", s)
	}
	var sc Schedule
	day, ok := weekdays[strings.ToLower(fields[0])]
	if !ok {
		return Schedule{}, fmt.Errorf("newsletter: schedule %q: %q is not a day of the week", s, fields[0])
	}
	sc.Weekday = day
	hh, mm, ok := strings.Cut(fields[1], ":")
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	if !ok || errH != nil || errM != nil || h < 0 || h > 23 || m < 0 || m > 59 || len(mm) != 2 {
		return Schedule{}, fmt.Errorf("newsletter: schedule %q: %q is not a time like 08:00", s, fields[1])
	}
	sc.Hour, sc.Minute = h, m
	sc.Location = time.UTC
	if len(fields) == 3 && !strings.EqualFold(fields[2], "UTC") {
		loc, err := time.LoadLocation(fields[2])
		if err != nil {
			return Schedule{}, fmt.Errorf("newsletter: schedule %q: unknown time zone %q", s, fields[2])
		}
		sc.Location = loc
	}
	return sc, nil
}

var weekdays = map[string]time.Weekday{}

func init() {
	for d := time.Sunday; d <= time.Saturday; d++ {
		name := strings.ToLower(d.String())
		weekdays[name] = d
		weekdays[name[:3]] = d
	}
}

// Prev is the latest scheduled moment at or before t.
func (sc Schedule) Prev(t time.Time) time.Time {
	lt := t.In(sc.Location)
	d := time.Date(lt.Year(), lt.Month(), lt.Day(), sc.Hour, sc.Minute, 0, 0, sc.Location)
	d = d.AddDate(0, 0, -((int(lt.Weekday()) - int(sc.Weekday) + 7) % 7))
	if d.After(t) {
		d = d.AddDate(0, 0, -7)
	}
	return d
}

// Next is the first scheduled moment after t.
func (sc Schedule) Next(t time.Time) time.Time {
	return sc.Prev(t).AddDate(0, 0, 7)
}

// ScheduleOptions tune RunSchedule.
type ScheduleOptions struct {
	Schedule Schedule
	// Owner names this process in the store's lease.
	Owner string
	// Send tunes the sends the schedule starts.
	Send SendOptions
	// CatchUp is how late after its moment a send may still start (the
	// process was down at the time); default 24h.
	CatchUp time.Duration
	// Tick is how often the schedule is looked at; default 1m.
	Tick time.Duration
}

// digestLease is the lease that makes one process of many compose and send.
const digestLease = "digest-send"

// RunSchedule composes and sends the weekly issue at each scheduled moment,
// resumes a send left unfinished, and erases unconfirmed sign-ups, until ctx
// is cancelled. Of several processes sharing a store, the one holding the
// store's lease does the sending; the others wait their turn.
func (s *Service) RunSchedule(ctx context.Context, o ScheduleOptions) error {
	if o.CatchUp <= 0 {
		o.CatchUp = 24 * time.Hour
	}
	if o.Tick <= 0 {
		o.Tick = time.Minute
	}
	if o.Owner == "" {
		o.Owner = o.Send.withDefaults().Owner
	}
	o.Send.Owner = o.Owner
	var lastPurge time.Time
	for {
		if time.Since(lastPurge) >= time.Hour {
			if n, err := s.PurgePending(ctx); err != nil {
				s.o.Logger.Warn("erasing unconfirmed sign-ups", "err", err)
			} else {
				lastPurge = time.Now()
				if n > 0 {
					s.o.Logger.Info("erased unconfirmed sign-ups", "count", n)
				}
			}
		}
		if err := s.scheduleTick(ctx, o); err != nil && ctx.Err() == nil {
			s.o.Logger.Error("weekly digest", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(o.Tick):
		}
	}
}

// scheduleTick sends what is due: an unfinished send first, then this
// week's issue once its moment has come.
func (s *Service) scheduleTick(ctx context.Context, o ScheduleOptions) error {
	now := s.now()
	week := ""
	recent, err := s.o.Store.Issues(ctx, IssueFilter{SentOnly: true, Limit: 2})
	if err != nil {
		return err
	}
	for _, is := range recent {
		if is.SentAt.IsZero() {
			week = is.Week // resume it
		}
	}
	if week == "" {
		due := o.Schedule.Prev(now)
		if now.Sub(due) > o.CatchUp {
			return nil
		}
		is, err := s.o.Store.Issue(ctx, WeekOf(now))
		switch {
		case err == nil && !is.SendStartedAt.IsZero():
			return nil // this week's is sent (or another process is on it)
		case err != nil && !errors.Is(err, ErrNotFound):
			return err
		}
		week = WeekOf(now)
	}
	return s.sendUnderLease(ctx, week, o)
}

// sendUnderLease sends week's issue while holding the digest lease, renewing
// it as the send goes on.
func (s *Service) sendUnderLease(ctx context.Context, week string, o ScheduleOptions) error {
	const ttl = 2 * time.Minute
	held, err := s.o.Store.AcquireLease(ctx, digestLease, o.Owner, ttl)
	if err != nil || !held {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer s.o.Store.ReleaseLease(context.WithoutCancel(ctx), digestLease, o.Owner)
	go func() {
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if held, err := s.o.Store.AcquireLease(ctx, digestLease, o.Owner, ttl); err == nil && !held {
					s.o.Logger.Warn("lost the digest lease; another process goes on with the send")
					cancel()
					return
				}
			}
		}
	}()
	s.o.Logger.Info("sending the weekly digest", "week", week)
	rep, err := s.Send(ctx, week, o.Send)
	if err != nil {
		return err
	}
	s.o.Logger.Info("weekly digest sent", "week", rep.Week, "sent", rep.Sent, "failed", rep.Failed, "skipped", rep.Skipped, "bounced", rep.Bounced)
	return nil
}
