package mail

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/mail/mailtest"
)

// bigDigest is a digest of about 10 KB of HTML and 4 KB of text, with the
// unsubscribe link twice in each part.
func bigDigest() Message {
	var h, t strings.Builder
	h.WriteString("<!doctype html><html><body><h1>Tidings — Datenschutz der Woche</h1>\n")
	for i := range 20 {
		fmt.Fprintf(&h, "<article><h2><a href=\"https://tidings.example/stories/%d/privacy-news\">Story %d: "+
			"WhatsApp boss clashes with Elon Musk over data privacy claims</a></h2>\n<p>A short summary "+
			"of the story, with its source and date; Überwachung &amp; Verschlüsselung.</p></article>\n", i, i)
		fmt.Fprintf(&t, "Story %d: WhatsApp boss clashes with Elon Musk over data privacy claims\n"+
			"https://tidings.example/stories/%d/privacy-news\n\n", i, i)
	}
	h.WriteString("<p><a href=\"" + ph + "\">Unsubscribe</a></p><p>" + ph + "</p></body></html>\n")
	t.WriteString("Unsubscribe: " + ph + "\n" + ph + "\n")
	return Message{From: "Tidings <news@tidings.example>", Subject: "Tidings weekly: 2026-W10",
		Text: t.String(), HTML: h.String(), OneClick: true, Date: time.Now()}
}

func recipients(n int) []Recipient {
	rs := make([]Recipient, n)
	for i := range rs {
		rs[i] = Recipient{
			To:        fmt.Sprintf("subscriber%d@example.com", i),
			MessageID: fmt.Sprintf("2026-W10.%d@tidings.example", i),
			URL:       fmt.Sprintf("https://tidings.example/unsubscribe?token=%040x", i),
		}
	}
	return rs
}

func BenchmarkRender(b *testing.B) {
	p, err := Prepare(bigDigest(), ph)
	if err != nil {
		b.Fatal(err)
	}
	rs := recipients(1024)
	buf, _ := p.Render(nil, rs[0])
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if buf, err = p.Render(buf[:0], rs[n%len(rs)]); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkSend renders and sends the digest over 4 pooled connections to an
// in-process server that discards it; client and server share the CPU.
func BenchmarkSend(b *testing.B) {
	s := mailtest.NewServer(b, mailtest.ServerOptions{Discard: true})
	tr, err := Open(s.URL(), "", Options{Rate: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	p, err := Prepare(bigDigest(), ph)
	if err != nil {
		b.Fatal(err)
	}
	rs := recipients(1024)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		for pb.Next() {
			r := rs[int(next.Add(1))%len(rs)]
			var err error
			if buf, err = p.Render(buf[:0], r); err != nil {
				b.Error(err)
				return
			}
			if err := tr.Send(context.Background(), "news@tidings.example", r.To, buf); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if !s.WaitCount(b.N, 10*time.Second) {
		b.Errorf("server got %d of %d", s.Count(), b.N)
	}
}
