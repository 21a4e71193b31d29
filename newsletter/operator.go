package newsletter

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tidings/tidings/mail"
)

// This file holds what the operator's web pages need beyond the command
// line's operations: a look-up by address, the stored issues with the
// counts of their deliveries, and a test message of an issue.

// ErrTestFailed means a test message of an issue could not be handed to the
// mail server; the wrapped text says why.
var ErrTestFailed = errors.New("newsletter: the test message could not be sent")

// Lookup returns the subscriber with that address; an *AddressError when
// it is not an address, ErrNotFound when no subscriber has it.
func (s *Service) Lookup(ctx context.Context, email string) (Subscriber, error) {
	addr, err := NormaliseAddress(email)
	if err != nil {
		return Subscriber{}, err
	}
	sub, err := s.o.Store.SubscriberByIndex(ctx, s.o.Keys.BlindIndex(IndexForm(addr)))
	if err != nil {
		return Subscriber{}, fmt.Errorf("newsletter: look-up: %w", err)
	}
	return sub, nil
}

// StoredIssue returns the issue of week as stored, sent or not, without
// composing anything; ErrNotFound when none was composed that week.
func (s *Service) StoredIssue(ctx context.Context, week string) (Issue, error) {
	w, err := ParseWeek(week)
	if err != nil {
		return Issue{}, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return s.o.Store.Issue(ctx, w)
}

// CurrentWeek is the week an issue composed now is named after.
func (s *Service) CurrentWeek() string { return WeekOf(s.now()) }

// Deliveries counts the deliveries of week's issue by state, including
// those of other processes sending it.
func (s *Service) Deliveries(ctx context.Context, week string) (DeliveryCounts, error) {
	c, err := s.o.Store.CountDeliveries(ctx, week)
	if err != nil {
		return c, fmt.Errorf("newsletter: counting deliveries of %s: %w", week, err)
	}
	return c, nil
}

// IssueRecord is a stored issue with the outcome of its deliveries.
type IssueRecord struct {
	Issue      Issue
	Deliveries DeliveryCounts
	// Bounced counts the failed deliveries whose subscriber is now marked
	// bounced; -1 when there were too many bounced subscribers to check.
	Bounced int
}

// maxBouncedChecked bounds the bounced subscribers History looks at.
const maxBouncedChecked = 2000

// History lists the stored issues, newest first, at most limit (0: all),
// each with the counts of its deliveries.
func (s *Service) History(ctx context.Context, limit int) ([]IssueRecord, error) {
	issues, err := s.o.Store.Issues(ctx, IssueFilter{Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("newsletter: history: %w", err)
	}
	var bounced []Subscriber // read once, when an issue has failures
	read := false
	out := make([]IssueRecord, 0, len(issues))
	for _, is := range issues {
		rec := IssueRecord{Issue: is}
		if rec.Deliveries, err = s.Deliveries(ctx, is.Week); err != nil {
			return nil, err
		}
		if rec.Deliveries.Failed > 0 && !read {
			if bounced, err = s.o.Store.Subscribers(ctx, SubscriberFilter{Status: Bounced, Limit: maxBouncedChecked + 1}); err != nil {
				return nil, fmt.Errorf("newsletter: history: %w", err)
			}
			read = true
		}
		switch {
		case rec.Deliveries.Failed == 0:
		case len(bounced) > maxBouncedChecked:
			rec.Bounced = -1
		default:
			// Each bounced subscriber's delivery of this issue, until as
			// many were found as deliveries failed.
			for _, sub := range bounced {
				if rec.Bounced == rec.Deliveries.Failed {
					break
				}
				d, err := s.o.Store.Delivery(ctx, is.Week, sub.ID)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("newsletter: history: %w", err)
				}
				if d.State == DeliveryFailed {
					rec.Bounced++
				}
			}
		}
		out = append(out, rec)
	}
	return out, nil
}

// SendTest sends one message of week's stored issue to email, through the
// mail transport, with "[Test]" before its subject and its unsubscribe
// links pointing at the sign-up page. It is no delivery: nothing is
// recorded, and the issue's send is not started. An *AddressError for a bad
// address, ErrNotFound when the issue was not composed, ErrTestFailed when
// the mail server refused it or could not be reached.
func (s *Service) SendTest(ctx context.Context, week, email string) error {
	addr, err := NormaliseAddress(email)
	if err != nil {
		return err
	}
	is, err := s.StoredIssue(ctx, week)
	if err != nil {
		return err
	}
	subscribe := s.base + "/subscribe"
	raw, err := mail.Message{
		From:    s.o.From,
		To:      addr,
		Subject: "[Test] " + is.Subject,
		Text:    strings.ReplaceAll(is.Text, UnsubscribePlaceholder, subscribe),
		HTML:    strings.ReplaceAll(is.HTML, UnsubscribePlaceholder, subscribe),
		Date:    s.now(),
	}.Bytes()
	if err == nil {
		err = s.o.Mail.Send(ctx, mailAddress(s.o.From), addr, raw)
	}
	if err != nil {
		return fmt.Errorf("%w: %s", ErrTestFailed, strings.ReplaceAll(err.Error(), addr, "<address>"))
	}
	return nil
}
