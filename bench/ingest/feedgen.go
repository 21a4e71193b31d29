package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Words the generated stories are made of: a privacy vocabulary and a general
// tech one, so the classifier and the relater do realistic work.
var (
	privacyWords = strings.Fields(`encryption end-to-end metadata surveillance breach leaked
		tracking cookies consent regulator GDPR fine spyware biometric facial recognition
		location broker VPN messaging Signal WhatsApp warrant police wiretap privacy data
		protection children health records passwords exposed hackers ransomware app`)
	generalWords = strings.Fields(`chip launch battery screen revenue quarter cloud server
		game console electric vehicle rocket satellite model benchmark laptop phone camera
		update release developer framework startup funding acquisition market shares
		network speed storage display processor memory software platform`)
	fillerWords = strings.Fields(`the a new says report after week company users million
		more than about over its their could would will plans amid experts year first`)
)

// genFeed writes an RSS 2.0 feed of n items for feed number f; items get
// unique URLs and GUIDs, so a cold poll stores all of them.
func genFeed(f, n int, now time.Time) []byte {
	r := rand.New(rand.NewPCG(uint64(f), 42))
	var b strings.Builder
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Bench feed %d</title><link>https://feed%d.bench.example/</link><description>generated</description>
`, f, f)
	for i := 0; i < n; i++ {
		words := generalWords
		if r.IntN(2) == 0 {
			words = privacyWords
		}
		title := sentence(r, words, 9)
		summary := sentence(r, words, 45)
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://feed%d.bench.example/%d/%d-story?utm_source=rss</link><guid isPermaLink="false">f%d-i%d</guid><pubDate>%s</pubDate><description><![CDATA[<p>%s</p><p><a href="/more/%d">More</a></p>]]></description></item>
`, title, f, f, i, f, i, now.Add(-time.Duration(f*n+i)*time.Minute).Format(time.RFC1123Z), summary, i)
	}
	b.WriteString("</channel></rss>\n")
	return []byte(b.String())
}

// sentence strings n words, mostly from topic, some filler.
func sentence(r *rand.Rand, topic []string, n int) string {
	out := make([]string, n)
	for i := range out {
		if r.IntN(3) == 0 {
			out[i] = fillerWords[r.IntN(len(fillerWords))]
		} else {
			out[i] = topic[r.IntN(len(topic))]
		}
	}
	out[0] = strings.ToUpper(out[0][:1]) + out[0][1:]
	return strings.Join(out, " ")
}
