package newsletter

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/ratelimit"
)

// ErrMailFailed means a confirmation mail could not be handed to the mail
// server; the sign-up is kept and asking again later sends it.
var ErrMailFailed = errors.New("newsletter: the confirmation mail could not be sent")

// ErrTooManySignups means the client made Options.SignupsPerHour sign-ups in
// the last hour already; nothing was stored or sent.
var ErrTooManySignups = errors.New("newsletter: too many sign-ups from this network; try again in an hour")

// Subscribe starts the double opt-in for email, typed on page (a path of the
// site) by a client at ip. A bad address is an *AddressError. Whether the
// address is new, pending, confirmed or unsubscribed, the caller learns
// nothing (no enumeration): a new or pending address gets a confirmation
// mail, at most one per ConfirmMailInterval; a confirmed one gets nothing; an
// unsubscribed or bounced one is pending again and gets a confirmation mail.
// A client past its hourly sign-ups gets ErrTooManySignups.
func (s *Service) Subscribe(ctx context.Context, email, page, ip string) error {
	addr, err := NormaliseAddress(email)
	if err != nil {
		return err
	}
	now := s.now()
	if s.signups != nil && !s.signups.Allow(ratelimit.ClientKey(ip), now) {
		return ErrTooManySignups
	}
	sub, created, err := s.o.Store.AddSubscriber(ctx, Subscriber{
		Index:       s.o.Keys.BlindIndex(IndexForm(addr)),
		Sealed:      s.o.Keys.Seal(addr),
		Status:      Pending,
		CreatedAt:   now,
		ConsentPage: consentPage(page),
		ConsentIP:   s.o.Keys.HashIP(ip),
		// Recorded with the sign-up, so that a burst of requests sends one mail.
		ConfirmMailAt: now,
	})
	if err != nil {
		return fmt.Errorf("newsletter: subscribe: %w", err)
	}
	if !created {
		switch sub.Status {
		case Confirmed:
			return nil
		case Pending:
			if now.Sub(sub.ConfirmMailAt) < ConfirmMailInterval {
				return nil
			}
		case Unsubscribed, Bounced:
			// Asking again is a new sign-up: nothing is sent until confirmed.
			sub.Status = Pending
			sub.CreatedAt = now // so an unconfirmed renewal is erased after a week too
		}
		sub.ConsentPage, sub.ConsentIP = consentPage(page), s.o.Keys.HashIP(ip)
		sub.ConfirmMailAt = now
		if err := s.o.Store.UpdateSubscriber(ctx, sub); err != nil {
			return fmt.Errorf("newsletter: subscribe: %w", err)
		}
	}
	mctx, cancel := context.WithTimeout(ctx, confirmSendTimeout)
	defer cancel()
	if err := s.sendConfirmation(mctx, sub.ID, addr); err != nil {
		// A server's reply may quote the address: keep it out of logs.
		msg := strings.ReplaceAll(err.Error(), addr, "<address>")
		s.o.Logger.Warn("confirmation mail not sent", "subscriber", sub.ID, "err", msg)
		// No mail went: asking again must send one at once.
		sub.ConfirmMailAt = time.Time{}
		if err := s.o.Store.UpdateSubscriber(context.WithoutCancel(ctx), sub); err != nil && !errors.Is(err, ErrNotFound) {
			s.o.Logger.Warn("confirmation mail not sent and not marked so", "subscriber", sub.ID, "err", err)
		}
		return fmt.Errorf("%w: %s", ErrMailFailed, msg)
	}
	return nil
}

// confirmSendTimeout bounds the wait for a confirmation mail, the mail
// rate limit's queue included: a reader is answered "try again in a few
// minutes" rather than left waiting while sign-ups pile up.
const confirmSendTimeout = 10 * time.Second

// consentPage keeps the path a sign-up came from, bounded, for the consent
// record.
func consentPage(page string) string {
	if !strings.HasPrefix(page, "/") || len(page) > 200 {
		return "/"
	}
	return page
}

// sendConfirmation mails the confirmation link. The only text in it that
// came from outside is the address itself.
func (s *Service) sendConfirmation(ctx context.Context, id int64, addr string) error {
	now := s.now()
	link := s.confirmURL(id, now)
	site := s.o.SiteName
	text := fmt.Sprintf("Hello,\r\n\r\nSomeone, hopefully you, asked to receive the weekly %s digest at %s.\r\n\r\n"+
		"To confirm, open this link and press \"Confirm subscription\" (it works for 48 hours):\r\n\r\n%s\r\n\r\n"+
		"If it wasn't you, ignore this mail: nothing will be sent, and the address will be forgotten in 7 days.\r\n",
		site, addr, link)
	html := fmt.Sprintf(confirmHTML, htmlEscape(site), htmlEscape(addr), htmlEscape(link))
	raw, err := mail.Message{
		From:      s.o.From,
		To:        addr,
		Subject:   "Confirm your subscription to " + site,
		Text:      text,
		HTML:      html,
		MessageID: s.messageID("confirm", fmt.Sprintf("%d.%d", id, now.Unix())),
		Date:      now,
	}.Bytes()
	if err != nil {
		return err
	}
	return s.o.Mail.Send(mail.WithKind(ctx, mail.KindConfirmation), mailAddress(s.o.From), addr, raw)
}

const confirmHTML = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="color-scheme" content="light dark"><title>Confirm your subscription</title></head>
<body style="margin:0;padding:24px;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5">
<div style="max-width:560px;margin:0 auto">
<p>Hello,</p>
<p>Someone, hopefully you, asked to receive the weekly %[1]s digest at <strong>%[2]s</strong>.</p>
<p><a href="%[3]s" style="display:inline-block;padding:10px 18px;border-radius:6px;background:#1f5f8b;color:#ffffff;text-decoration:none">Confirm subscription</a></p>
<p>The link works for 48 hours. If the button does not work, copy this address into your browser:<br>%[3]s</p>
<p>If it wasn't you, ignore this mail: nothing will be sent, and the address will be forgotten in 7 days.</p>
</div></body></html>
`

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func htmlEscape(s string) string { return htmlReplacer.Replace(s) }

// mailAddress is the bare address of a "Name <addr>" sender, for the SMTP
// envelope.
func mailAddress(from string) string {
	if i := strings.LastIndexByte(from, '<'); i >= 0 {
		return strings.TrimSuffix(from[i+1:], ">")
	}
	return from
}

// CheckConfirm validates a confirmation token without changing anything
// (mail scanners follow links).
func (s *Service) CheckConfirm(ctx context.Context, token string) error {
	_, err := s.verify(ctx, purposeConfirm, token)
	return err
}

// Confirm confirms the subscription a token names and keeps the consent
// record. Confirming twice is harmless.
func (s *Service) Confirm(ctx context.Context, token string) error {
	sub, err := s.verify(ctx, purposeConfirm, token)
	if err != nil || sub.Status == Confirmed {
		return err
	}
	now := s.now()
	sub.Status = Confirmed
	sub.ConfirmedAt, sub.ConsentAt = now, now
	sub.UnsubscribedAt = time.Time{}
	sub.HardFailures = 0
	if err := s.o.Store.UpdateSubscriber(ctx, sub); err != nil {
		return fmt.Errorf("newsletter: confirm: %w", err)
	}
	return nil
}

// CheckUnsubscribe validates an unsubscribe token without changing anything.
// The token of an erased subscriber is fine: there is nothing to undo.
func (s *Service) CheckUnsubscribe(ctx context.Context, token string) error {
	_, err := s.verify(ctx, purposeUnsubscribe, token)
	if errors.Is(err, ErrBadToken) && s.tokenValid(purposeUnsubscribe, token) {
		return nil
	}
	return err
}

// Unsubscribe unsubscribes the subscriber a token names, at once. Repeating
// it, or using the link of an erased subscriber, is harmless.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	sub, err := s.verify(ctx, purposeUnsubscribe, token)
	if errors.Is(err, ErrBadToken) && s.tokenValid(purposeUnsubscribe, token) {
		return nil // erased already
	}
	if err != nil || sub.Status == Unsubscribed {
		return err
	}
	sub.Status = Unsubscribed
	sub.UnsubscribedAt = s.now()
	if err := s.o.Store.UpdateSubscriber(ctx, sub); err != nil {
		return fmt.Errorf("newsletter: unsubscribe: %w", err)
	}
	return nil
}

// tokenValid reports whether the token itself checks out, whoever it names.
func (s *Service) tokenValid(purpose, token string) bool {
	_, err := s.o.Keys.Verify(purpose, token, s.now())
	return err == nil
}

// Remove erases every trace of an address: the subscriber and its delivery
// records. ErrNotFound if the address is not known.
func (s *Service) Remove(ctx context.Context, email string) error {
	addr := strings.TrimSpace(email)
	sub, err := s.o.Store.SubscriberByIndex(ctx, s.o.Keys.BlindIndex(IndexForm(addr)))
	if err != nil {
		return fmt.Errorf("newsletter: remove: %w", err)
	}
	if err := s.o.Store.DeleteSubscriber(ctx, sub.ID); err != nil {
		return fmt.Errorf("newsletter: remove: %w", err)
	}
	return nil
}

// PurgePending erases sign-ups left unconfirmed for PendingLifetime and
// returns how many.
func (s *Service) PurgePending(ctx context.Context) (int, error) {
	n, err := s.o.Store.DeletePending(ctx, s.now().Add(-PendingLifetime))
	if err != nil {
		return n, fmt.Errorf("newsletter: erasing unconfirmed sign-ups: %w", err)
	}
	return n, nil
}
