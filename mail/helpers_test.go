package mail

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"
)

// parsed is a message read back the way a mail client would.
type parsed struct {
	header     netmail.Header
	rawHeader  string            // header section as sent, CRLF line ends
	partTypes  []string          // Content-Type of each part
	partHeader []map[string]bool // which MIME headers each part had
	text, html string            // decoded bodies
}

// parseMessage parses raw with net/mail and mime/multipart, and checks the
// framing rules every message must follow: CRLF only, header lines ≤ 998
// characters, body lines ≤ 76 (quoted-printable).
func parseMessage(t testing.TB, raw []byte) parsed {
	t.Helper()
	if err := checkFraming(raw); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	m, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	var p parsed
	p.header = m.Header
	p.rawHeader = string(raw[:bytes.Index(raw, []byte("\r\n\r\n"))+2])
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("multipart: %v", err)
		}
		ct := part.Header.Get("Content-Type")
		p.partTypes = append(p.partTypes, ct)
		p.partHeader = append(p.partHeader, map[string]bool{
			"qp": part.Header.Get("Content-Transfer-Encoding") == "quoted-printable",
		})
		body, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatalf("quoted-printable: %v", err)
		}
		switch {
		case strings.HasPrefix(ct, "text/plain"):
			p.text = string(body)
		case strings.HasPrefix(ct, "text/html"):
			p.html = string(body)
		}
	}
	return p
}

// checkFraming reports a bare CR or LF, an over-long line, or a header line that
// is neither a field nor a continuation.
func checkFraming(raw []byte) error {
	s := string(raw)
	if strings.Count(s, "\n") != strings.Count(s, "\r\n") || strings.Count(s, "\r") != strings.Count(s, "\r\n") {
		return fmt.Errorf("bare CR or LF")
	}
	head, body, ok := strings.Cut(s, "\r\n\r\n")
	if !ok {
		return fmt.Errorf("no end of header")
	}
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > maxLine {
			return fmt.Errorf("header line of %d characters", len(line))
		}
		if line == "" || (line[0] != ' ' && line[0] != '\t' && !strings.Contains(line, ":")) {
			return fmt.Errorf("bad header line %q", line)
		}
		if strings.TrimSpace(line) == "" {
			return fmt.Errorf("blank continuation line")
		}
	}
	for _, line := range strings.Split(body, "\r\n") {
		if len(line) > 76 {
			return fmt.Errorf("body line of %d characters: %q", len(line), line)
		}
	}
	return nil
}

// headerNames lists the field names of a header section, in order.
func headerNames(rawHeader string) []string {
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(rawHeader, "\r\n"), "\r\n") {
		if line != "" && line[0] != ' ' && line[0] != '\t' {
			name, _, _ := strings.Cut(line, ":")
			names = append(names, name)
		}
	}
	return names
}
