package mail

import (
	"errors"
	"html"
	"mime"
	netmail "net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

const ph = "{{UNSUB}}"

// digest is a message whose bodies exercise the encoder: long lines, trailing
// white space, "=", non-ASCII, a lone ".", mixed line ends, placeholders at the
// start, the end and in the middle of lines.
func digest() Message {
	return Message{
		From:    "Tidings Wöchentlich <news@tidings.example>",
		Subject: "Datenschutz-Wochenschau: Überwachung, Verschlüsselung & mehr",
		Text: ph + " leads\r\nA line that is much longer than seventy-six characters, so it must be " +
			"wrapped by soft line breaks = and keep its equals signs.\n" +
			"trailing spaces   \ntrailing tab\t\n.\nnon-ASCII: Grüße, 週報, ☂\n" +
			"unsubscribe: " + ph + "\nlast " + ph,
		HTML: "<html><body><p>Grüße</p>\n<a href=\"" + ph + "\">Abbestellen</a> " +
			strings.Repeat("<b>x</b> ", 20) + "\n<p>" + ph + "</p></body></html>\n",
		Date:     time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC),
		OneClick: true,
	}
}

func TestRenderMIME(t *testing.T) {
	m := digest()
	p, err := Prepare(m, ph)
	if err != nil {
		t.Fatal(err)
	}
	crlf := func(s string) string { return strings.ReplaceAll(normalizeNewlines(s), "\n", "\r\n") }
	for _, r := range []Recipient{
		{To: "alice@example.com", MessageID: "<d1.alice@tidings.example>", URL: "https://tidings.example/unsubscribe?token=abc.DEF_123-456&x=1"},
		{To: "bob@example.org", MessageID: "d1.bob@tidings.example", URL: "https://tidings.example/u?t=" + strings.Repeat("Zm9v", 40)},
		{To: "carol@example.net", MessageID: "d1.carol@tidings.example"}, // no URL: placeholder becomes empty
	} {
		raw, err := p.Render(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		got := parseMessage(t, raw)
		if want := []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}; !slices.Equal(got.partTypes, want) {
			t.Errorf("parts %q, want %q", got.partTypes, want)
		}
		for i, h := range got.partHeader {
			if !h["qp"] {
				t.Errorf("part %d is not quoted-printable", i)
			}
		}
		if want := crlf(strings.ReplaceAll(m.Text, ph, r.URL)); got.text != want {
			t.Errorf("text part:\n got %q\nwant %q", got.text, want)
		}
		if want := crlf(strings.ReplaceAll(m.HTML, ph, html.EscapeString(r.URL))); got.html != want {
			t.Errorf("HTML part:\n got %q\nwant %q", got.html, want)
		}
		if got.header.Get("To") != "<"+r.To+">" {
			t.Errorf("To %q", got.header.Get("To"))
		}
		if want := "<" + strings.Trim(r.MessageID, "<>") + ">"; got.header.Get("Message-ID") != want {
			t.Errorf("Message-ID %q, want %q", got.header.Get("Message-ID"), want)
		}
	}
}

func TestHeaders(t *testing.T) {
	long := "https://tidings.example/unsubscribe?token=" + strings.Repeat("a1b2", 30)
	for _, tc := range []struct {
		name     string
		url      string
		oneClick bool
		want     []string
	}{
		{"digest", long, true, []string{"Date", "From", "Subject", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type"}},
		{"short URL", "https://t.example/u?t=1", true, []string{"Date", "From", "Subject", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type"}},
		{"no one-click", long, false, []string{"Date", "From", "Subject", "To", "Message-ID", "List-Unsubscribe", "MIME-Version", "Content-Type"}},
		{"confirmation", "", true, []string{"Date", "From", "Subject", "To", "Message-ID", "MIME-Version", "Content-Type"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := digest()
			m.To, m.MessageID, m.ListUnsubscribe, m.OneClick = "alice@example.com", "issue-2026-W10.42@tidings.example", tc.url, tc.oneClick
			raw, err := m.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			got := parseMessage(t, raw)
			if names := headerNames(got.rawHeader); !slices.Equal(names, tc.want) {
				t.Errorf("headers %q, want %q", names, tc.want)
			}
			h := got.header
			if h.Get("Message-ID") != "<issue-2026-W10.42@tidings.example>" {
				t.Errorf("Message-ID %q", h.Get("Message-ID"))
			}
			if tc.url != "" && h.Get("List-Unsubscribe") != "<"+tc.url+">" {
				t.Errorf("List-Unsubscribe %q", h.Get("List-Unsubscribe"))
			}
			if tc.url == long && !strings.Contains(got.rawHeader, "List-Unsubscribe:\r\n <https://") {
				t.Errorf("long List-Unsubscribe not folded:\n%s", got.rawHeader)
			}
			if tc.oneClick && tc.url != "" && h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
				t.Errorf("List-Unsubscribe-Post %q", h.Get("List-Unsubscribe-Post"))
			}
			if h.Get("MIME-Version") != "1.0" {
				t.Errorf("MIME-Version %q", h.Get("MIME-Version"))
			}
			if d, err := h.Date(); err != nil || !d.Equal(m.Date) {
				t.Errorf("Date %v, %v", d, err)
			}
			from, err := (&mime.WordDecoder{}).DecodeHeader(h.Get("From"))
			if err != nil || from != `"Tidings Wöchentlich" <news@tidings.example>` && from != "Tidings Wöchentlich <news@tidings.example>" {
				t.Errorf("From %q, %v", from, err)
			}
			if a, err := netmail.ParseAddress(h.Get("From")); err != nil || a.Name != "Tidings Wöchentlich" || a.Address != "news@tidings.example" {
				t.Errorf("From parses to %v, %v", a, err)
			}
		})
	}
}

func TestSubject(t *testing.T) {
	for _, subject := range []string{
		"Plain ASCII subject",
		"",
		"Datenschutz: Überwachung – 週報 ☂",
		strings.Repeat("Überwachung und Verschlüsselung, ", 12),
		strings.Repeat("A long ASCII subject that must be folded at spaces ", 6),
		"Looks encoded =?utf-8?q?Hi?= but is not",
		"Tabs\tand  double  spaces",
		"  leading and trailing white space\t ",
		`Quotes "and" (comments)`,
	} {
		m := Message{From: "news@tidings.example", To: "a@example.com", Subject: subject, Text: "t", HTML: "h", MessageID: "s@tidings.example"}
		raw, err := m.Bytes()
		if err != nil {
			t.Fatalf("%q: %v", subject, err)
		}
		got := parseMessage(t, raw)
		dec, err := (&mime.WordDecoder{}).DecodeHeader(got.header.Get("Subject"))
		if err != nil || dec != subject {
			t.Errorf("subject %q came back as %q (%v)", subject, dec, err)
		}
		for _, line := range strings.Split(got.rawHeader, "\r\n") {
			if strings.Contains(line, "=?") && len(line) > 76 {
				t.Errorf("encoded-word line of %d characters: %q", len(line), line)
			}
		}
		if strings.Contains(subject, "=?") && !strings.Contains(got.rawHeader, "Subject: =?utf-8?q?") {
			t.Errorf("subject with =? sent unencoded")
		}
	}
}

func TestHeaderInjection(t *testing.T) {
	base := Message{From: "news@tidings.example", To: "a@example.com", Subject: "s", Text: "t", HTML: "h", MessageID: "x@tidings.example", ListUnsubscribe: "https://t.example/u"}
	for name, edit := range map[string]func(*Message){
		"To CRLF":           func(m *Message) { m.To = "a@example.com\r\nBcc: victim@example.com" },
		"To LF":             func(m *Message) { m.To = "a@example.com\nBcc: victim@example.com" },
		"Subject CRLF":      func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.com" },
		"Subject CR":        func(m *Message) { m.Subject = "Hi\rBcc: victim@example.com" },
		"From CRLF":         func(m *Message) { m.From = "Eve <news@tidings.example>\r\nBcc: victim@example.com" },
		"From name LF":      func(m *Message) { m.From = "Eve\n <news@tidings.example>" },
		"From encoded CRLF": func(m *Message) { m.From = "=?utf-8?q?Eve=0D=0ABcc=3A_victim?= <news@tidings.example>" },
		"Message-ID LF":     func(m *Message) { m.MessageID = "x@tidings.example>\nBcc: victim@example.com" },
		"URL CRLF":          func(m *Message) { m.ListUnsubscribe = "https://t.example/u\r\nBcc: victim@example.com" },
	} {
		m := base
		edit(&m)
		raw, err := m.Bytes()
		if err == nil {
			t.Errorf("%s: accepted:\n%s", name, raw)
			continue
		}
		if !errors.Is(err, ErrHeaderInjection) {
			t.Errorf("%s: error %v does not wrap ErrHeaderInjection", name, err)
		}
	}
}

func TestInvalidInput(t *testing.T) {
	base := Message{From: "news@tidings.example", To: "a@example.com", Subject: "s", Text: "t", HTML: "h", MessageID: "x@tidings.example"}
	for name, edit := range map[string]func(*Message){
		"quoted local part":   func(m *Message) { m.To = `"a b"@example.com` },
		"display name in To":  func(m *Message) { m.To = "Alice <a@example.com>" },
		"no domain":           func(m *Message) { m.To = "a@" },
		"zero-width space":    func(m *Message) { m.To = "a@exam\u200bple.com" },
		"two addresses":       func(m *Message) { m.To = "a@example.com, b@example.com" },
		"long local part":     func(m *Message) { m.To = strings.Repeat("a", 65) + "@example.com" },
		"bad sender":          func(m *Message) { m.From = "not an address" },
		"invalid UTF-8 text":  func(m *Message) { m.Text = "a\xffb" },
		"invalid UTF-8 subj":  func(m *Message) { m.Subject = "a\xffb" },
		"javascript URL":      func(m *Message) { m.ListUnsubscribe = "javascript:alert(1)" },
		"relative URL":        func(m *Message) { m.ListUnsubscribe = "/unsubscribe" },
		"URL with quote":      func(m *Message) { m.ListUnsubscribe = `https://t.example/"onmouseover="x` },
		"Message-ID no @":     func(m *Message) { m.MessageID = "<nodomain>" },
		"Message-ID brackets": func(m *Message) { m.MessageID = "<a<b@c>" },
	} {
		m := base
		edit(&m)
		if raw, err := m.Bytes(); err == nil {
			t.Errorf("%s: accepted:\n%s", name, raw)
		}
	}
}

// Bytes and Prepare+Render give the same message (up to the random boundary).
func TestBytesMatchesRender(t *testing.T) {
	m := digest()
	m.Text = strings.ReplaceAll(m.Text, ph, "https://t.example/u?a=1&b=2")
	m.HTML = strings.ReplaceAll(m.HTML, ph, "https://t.example/u?a=1&amp;b=2")
	m.To, m.MessageID, m.ListUnsubscribe = "a@example.com", "m1@tidings.example", "https://t.example/u?a=1&b=2"
	a, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Prepare(digest(), ph)
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Render(nil, Recipient{To: m.To, MessageID: m.MessageID, URL: m.ListUnsubscribe})
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := parseMessage(t, a), parseMessage(t, b)
	if pa.text != pb.text || pa.html != pb.html || !slices.Equal(pa.partTypes, pb.partTypes) ||
		!slices.Equal(headerNames(pa.rawHeader), headerNames(pb.rawHeader)) {
		t.Errorf("Bytes and Render differ:\n%s\n----\n%s", a, b)
	}
}

func TestRandomMessageID(t *testing.T) {
	m := Message{From: "news@tidings.example", To: "a@example.com", Text: "t", HTML: "h"}
	raw, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	id := parseMessage(t, raw).header.Get("Message-ID")
	if !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@tidings.example>") || len(id) < 20 {
		t.Errorf("generated Message-ID %q", id)
	}
}

func FuzzMessageBytes(f *testing.F) {
	f.Add("Weekly digest", "Hello\nworld", "<p>Hi</p>", "Tidings")
	f.Add("Über\r\nBcc: x@y.z", "line \r\n.\r\ntrail\t", "a=b\rc", "Eve\r\n")
	f.Add(strings.Repeat("週報 ", 40), strings.Repeat("x", 300), "=?utf-8?q?a?=", `"q\"uote"`)
	f.Fuzz(func(t *testing.T, subject, text, htmlBody, name string) {
		m := Message{
			From: name + " <news@tidings.example>", To: "a@example.com", Subject: subject,
			Text: text, HTML: htmlBody, MessageID: "f@tidings.example",
			ListUnsubscribe: "https://t.example/u?t=1", OneClick: true,
		}
		raw, err := m.Bytes()
		if err != nil {
			return
		}
		if err := checkFraming(raw); err != nil {
			t.Fatalf("%v\n%q", err, raw)
		}
		got := parseMessage(t, raw)
		want := []string{"Date", "From", "Subject", "To", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "MIME-Version", "Content-Type"}
		if names := headerNames(got.rawHeader); !slices.Equal(names, want) {
			t.Fatalf("headers %q\n%q", names, raw)
		}
		dec, err := (&mime.WordDecoder{}).DecodeHeader(got.header.Get("Subject"))
		if err != nil || dec != subject {
			t.Fatalf("subject %q came back as %q (%v)", subject, dec, err)
		}
		crlf := func(s string) string { return strings.ReplaceAll(normalizeNewlines(s), "\n", "\r\n") }
		if got.text != crlf(text) || got.html != crlf(htmlBody) {
			t.Fatalf("bodies changed: %q / %q", got.text, got.html)
		}
	})
}
