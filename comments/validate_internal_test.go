package comments

import (
	"strings"
	"testing"
)

func goodSubmission() Submission {
	return Submission{StoryID: 1, Author: "Ann", Email: "Ann@Example.ORG", Body: "Nice story."}
}

func TestValidateGood(t *testing.T) {
	sub := goodSubmission()
	sub.Author = "  Zoë  Ōtani "
	sub.Website = "example.org/me"
	sub.Body = "\r\n  One.\r\n\r\nTwo\x00.\tTab\x1b  \n"
	sub.Notify = true
	c, addr, fe := validate(sub)
	if len(fe.Fields) != 0 {
		t.Fatalf("refused: %v", fe)
	}
	if addr != "Ann@example.org" {
		t.Errorf("address %q", addr)
	}
	want := Comment{Author: "Zoë  Ōtani", Website: "https://example.org/me", Body: "One.\n\nTwo.\tTab", NotifyReplies: true}
	if c.Author != want.Author || c.Website != want.Website || c.Body != want.Body || !c.NotifyReplies {
		t.Errorf("validate = %+v, want %+v", c, want)
	}
	if c.EmailIndex != "" || c.EmailSealed != nil {
		t.Error("validate set the address fields; Submit seals them")
	}
	// The limits themselves are accepted.
	sub = goodSubmission()
	sub.Author = strings.Repeat("é", MaxAuthor)
	sub.Body = strings.Repeat("ü", MaxBody)
	sub.Website = "HTTP://a.example/" + strings.Repeat("x", MaxWebsite-len("http://a.example/"))
	c, _, fe = validate(sub)
	if len(fe.Fields) != 0 {
		t.Fatalf("limits refused: %v", fe)
	}
	if !strings.HasPrefix(c.Website, "http://a.example/") {
		t.Errorf("website %q: the scheme should be in lower case", c.Website)
	}
}

func TestValidateRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(*Submission)
		field string
	}{
		{"no name", func(s *Submission) { s.Author = " \t " }, "author"},
		{"long name", func(s *Submission) { s.Author = strings.Repeat("a", MaxAuthor+1) }, "author"},
		{"name with a line break", func(s *Submission) { s.Author = "Ann\nBcc: x" }, "author"},
		{"name with RTL override", func(s *Submission) { s.Author = "Ann\u202egnp.exe" }, "author"},
		{"name not UTF-8", func(s *Submission) { s.Author = "Ann\xff" }, "author"},
		{"no email", func(s *Submission) { s.Email = "" }, "email"},
		{"bad email", func(s *Submission) { s.Email = "ann@" }, "email"},
		{"email with a name", func(s *Submission) { s.Email = "Ann <ann@example.org>" }, "email"},
		{"email with CRLF", func(s *Submission) { s.Email = "ann@example.org\r\nBcc: x@y.org" }, "email"},
		{"javascript website", func(s *Submission) { s.Website = "javascript:alert(1)" }, "url"},
		{"JavaScript website", func(s *Submission) { s.Website = "JavaScript://x.example/%0aalert(1)" }, "url"},
		{"data website", func(s *Submission) { s.Website = "data:text/html,hi" }, "url"},
		{"ftp website", func(s *Submission) { s.Website = "ftp://a.example" }, "url"},
		{"mailto website", func(s *Submission) { s.Website = "mailto:ann@example.org" }, "url"},
		{"website with user", func(s *Submission) { s.Website = "https://bank.example@evil.example" }, "url"},
		{"website with space", func(s *Submission) { s.Website = "https://a.example/a b" }, "url"},
		{"website with quote", func(s *Submission) { s.Website = `https://a.example/"onclick="x` }, "url"},
		{"website without host", func(s *Submission) { s.Website = "https:///x" }, "url"},
		{"long website", func(s *Submission) { s.Website = "https://a.example/" + strings.Repeat("x", MaxWebsite) }, "url"},
		{"no comment", func(s *Submission) { s.Body = "\n \t\r\n\x00" }, "comment"},
		{"long comment", func(s *Submission) { s.Body = strings.Repeat("x", MaxBody+1) }, "comment"},
		{"comment not UTF-8", func(s *Submission) { s.Body = "a\xffb" }, "comment"},
	} {
		sub := goodSubmission()
		c.spoil(&sub)
		_, _, fe := validate(sub)
		if len(fe.Fields) != 1 || fe.Fields[c.field] == "" {
			t.Errorf("%s: fields %v, want only %q", c.name, fe.Fields, c.field)
		}
		if msg := fe.Fields[c.field]; strings.Contains(msg, "comments:") {
			t.Errorf("%s: message %q is not for a person", c.name, msg)
		}
	}
	_, _, fe := validate(Submission{})
	if len(fe.Fields) != 3 || fe.Fields["author"] == "" || fe.Fields["email"] == "" || fe.Fields["comment"] == "" {
		t.Errorf("empty form: %v, want author, email and comment", fe.Fields)
	}
	msg := fe.Error()
	if !strings.HasPrefix(msg, "comments: ") || strings.Index(msg, "author") > strings.Index(msg, "comment:") {
		t.Errorf("Error() = %q", msg)
	}
}
