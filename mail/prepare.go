package mail

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// slot says what Render writes after a piece of pre-encoded bytes.
type slot uint8

const (
	slotNone slot = iota
	slotText      // the recipient's URL, quoted-printable
	slotHTML      // the recipient's URL, HTML-escaped, quoted-printable
)

// piece is pre-encoded bytes followed by a per-recipient slot.
type piece struct {
	bytes []byte
	slot  slot
}

// Prepared is a message rendered once, with per-recipient parts filled in fast.
// It is safe for concurrent use by several goroutines.
type Prepared struct {
	head     []byte  // Date, From, Subject
	body     []piece // MIME headers and the two encoded parts, cut at each placeholder
	oneClick bool
	idDomain string // right-hand side for generated Message-IDs
	size     int    // length of all fixed bytes, to size the output once
	slots    int    // number of placeholders
}

// Prepare renders m once. m.To, m.MessageID and m.ListUnsubscribe are ignored;
// every occurrence of placeholder in m.Text and m.HTML is the recipient's URL (the
// unsubscribe link). In the HTML part the URL is HTML-escaped. An empty
// placeholder replaces nothing. A zero m.Date means now.
//
// Line ends in Text and HTML may be LF or CRLF; both parts are UTF-8 and are sent
// quoted-printable with CRLF line ends.
func Prepare(m Message, placeholder string) (*Prepared, error) {
	from, err := parseFrom(m.From)
	if err != nil {
		return nil, err
	}
	if err := checkControls("Subject", m.Subject); err != nil {
		return nil, err
	}
	if !utf8.ValidString(m.Subject) || len(m.Subject) > maxSubjectLen {
		return nil, fmt.Errorf("mail: subject is not valid UTF-8 or is too long")
	}
	if !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML) {
		return nil, fmt.Errorf("mail: body is not valid UTF-8")
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}

	p := &Prepared{oneClick: m.OneClick, idDomain: from.Address[strings.LastIndexByte(from.Address, '@')+1:]}
	h := make([]byte, 0, 256)
	h = append(h, "Date: "...)
	h = date.AppendFormat(h, time.RFC1123Z)
	h = append(h, '\r', '\n')
	if h, err = appendField(h, "From", from.String(), true); err != nil {
		return nil, err
	}
	subject := m.Subject
	if subjectNeedsWords(subject) {
		subject = string(appendQWords(nil, subject))
	}
	if h, err = appendField(h, "Subject", subject, false); err != nil {
		return nil, err
	}
	p.head = h

	boundary, err := newBoundary()
	if err != nil {
		return nil, err
	}
	b := &bodyBuilder{}
	b.static("MIME-Version: 1.0\r\nContent-Type: ")
	b.static(mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": boundary}))
	b.static("\r\n\r\n")
	b.part(boundary, "text/plain", m.Text, placeholder, slotText)
	b.part(boundary, "text/html", m.HTML, placeholder, slotHTML)
	b.static("--" + boundary + "--\r\n")
	b.cut(slotNone)
	p.body = b.pieces
	p.size = len(p.head)
	for _, pc := range p.body {
		p.size += len(pc.bytes)
		if pc.slot != slotNone {
			p.slots++
		}
	}
	return p, nil
}

// newBoundary returns a random MIME boundary. It starts with "=_", which never
// occurs in quoted-printable text, so no body line can be mistaken for it.
func newBoundary() (string, error) {
	var r [12]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("mail: boundary: %w", err)
	}
	return "=_" + hex.EncodeToString(r[:]), nil
}

// bodyBuilder collects fixed bytes and cuts them into pieces at each slot.
type bodyBuilder struct {
	cur    []byte
	pieces []piece
}

func (b *bodyBuilder) static(s string) { b.cur = append(b.cur, s...) }

func (b *bodyBuilder) cut(s slot) {
	b.pieces = append(b.pieces, piece{bytes: b.cur, slot: s})
	b.cur = nil
}

// part writes one quoted-printable body part, with a slot at each placeholder.
func (b *bodyBuilder) part(boundary, mediaType, content, placeholder string, s slot) {
	b.static("--" + boundary + "\r\nContent-Type: " + mediaType + "; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
	content, placeholder = normalizeNewlines(content), normalizeNewlines(placeholder)
	var segs []string
	if placeholder == "" {
		segs = []string{content}
	} else {
		segs = strings.Split(content, placeholder)
	}
	for i, seg := range segs {
		final := i == len(segs)-1
		b.cur = appendQP(b.cur, seg, final)
		if !final {
			b.cut(s)
		}
	}
	// This CRLF belongs to the delimiter that follows, not to the part.
	b.static("\r\n")
}

// Recipient is the per-message part.
type Recipient struct {
	To        string // bare address
	MessageID string // "<unique@domain>" or "unique@domain"; empty: a random one
	URL       string // replaces the placeholder and is the List-Unsubscribe URL; may be empty
}

// Render appends the message for r to dst and returns the extended slice. Only
// the recipient's parts are encoded here; everything else was encoded by Prepare.
func (p *Prepared) Render(dst []byte, r Recipient) ([]byte, error) {
	if err := checkAddr(r.To); err != nil {
		return dst, err
	}
	id := r.MessageID
	if id == "" {
		var err error
		if id, err = randomMessageID(p.idDomain); err != nil {
			return dst, err
		}
	} else {
		var err error
		if id, err = normMessageID(id); err != nil {
			return dst, err
		}
	}
	if r.URL != "" {
		if err := checkURL(r.URL); err != nil {
			return dst, err
		}
	}
	var textURL, htmlURL []byte
	if p.slots > 0 && r.URL != "" {
		textURL = appendQP(nil, r.URL, false)
		htmlURL = appendQP(nil, html.EscapeString(r.URL), false)
	}
	dst = slices.Grow(dst, p.size+p.slots*len(htmlURL)+len(r.To)+len(id)+len(r.URL)+160)
	dst = append(dst, p.head...)
	dst = append(dst, "To: "...)
	dst = append(dst, (&netmail.Address{Address: r.To}).String()...)
	dst = append(dst, "\r\nMessage-ID: <"...)
	dst = append(dst, id...)
	dst = append(dst, ">\r\n"...)
	if r.URL != "" {
		// A long URL goes on a continuation line of its own; it cannot be folded.
		if len("List-Unsubscribe: <")+len(r.URL)+1 > foldAt {
			dst = append(dst, "List-Unsubscribe:\r\n <"...)
		} else {
			dst = append(dst, "List-Unsubscribe: <"...)
		}
		dst = append(dst, r.URL...)
		dst = append(dst, ">\r\n"...)
		if p.oneClick {
			dst = append(dst, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"...)
		}
	}
	for _, pc := range p.body {
		dst = append(dst, pc.bytes...)
		switch pc.slot {
		case slotText:
			dst = append(dst, textURL...)
		case slotHTML:
			dst = append(dst, htmlURL...)
		}
	}
	return dst, nil
}

// randomMessageID returns a fresh Message-ID on domain (without angle brackets).
func randomMessageID(domain string) (string, error) {
	var r [16]byte
	if _, err := rand.Read(r[:]); err != nil {
		return "", fmt.Errorf("mail: Message-ID: %w", err)
	}
	return hex.EncodeToString(r[:]) + "@" + domain, nil
}
