// Package mail builds and delivers Tidings' mail: digests and confirmation mails.
//
// Every message is multipart/alternative (text/plain and text/html, UTF-8,
// quoted-printable) with a Message-ID set by the caller, and headers built only
// from validated parts. A message sent to many people is rendered once with
// Prepare; Render then fills in each recipient in a few microseconds.
//
// Open returns a Transport: a pool of SMTP connections (go-mail does the dialing,
// TLS and authentication) with a shared rate limit, or, without an SMTP URL, an
// outbox directory that receives one .eml file per message.
package mail

import "time"

// Message is one mail.
type Message struct {
	From            string    // "Name <addr>" or "addr"
	To              string    // bare address
	Subject         string    // any UTF-8 text without line breaks; RFC 2047 encoded when needed
	Text, HTML      string    // the two alternatives, UTF-8
	MessageID       string    // "<unique@domain>" or "unique@domain" (angle brackets added if missing); empty: random
	Date            time.Time // zero: now
	ListUnsubscribe string    // https URL; empty: no List-Unsubscribe headers
	OneClick        bool      // with ListUnsubscribe: add List-Unsubscribe-Post: List-Unsubscribe=One-Click
}

// Bytes returns the whole RFC 5322 message with CRLF line ends. It is Prepare
// and Render in one step, so it gives the same MIME structure as a digest.
func (m Message) Bytes() ([]byte, error) {
	p, err := Prepare(m, "")
	if err != nil {
		return nil, err
	}
	return p.Render(nil, Recipient{To: m.To, MessageID: m.MessageID, URL: m.ListUnsubscribe})
}
