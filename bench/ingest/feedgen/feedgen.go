// Package feedgen writes the synthetic RSS feeds the ingest benchmark serves
// (bench/ingest) and the feeds package's per-stage benchmarks parse: items of
// ~1.5 KB of HTML whose words come from a privacy vocabulary, a general tech
// one and a Zipf-distributed long tail, so that the classifier, the relater
// and posting-list lengths behave as with real news.
package feedgen

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

// Feed writes an RSS 2.0 feed of n items for feed number f, items dated one
// minute apart back from now; items get unique URLs and GUIDs, so a cold poll
// stores all of them. The same f, n and now give the same bytes.
func Feed(f, n int, now time.Time) []byte {
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
		// Three more paragraphs, as a feed with full text carries (~1.5 KB an item).
		body := sentence(r, words, 60) + "</p><p>" + sentence(r, words, 60) + "</p><p><em>" + sentence(r, words, 40) + "</em>"
		fmt.Fprintf(&b, `<item><title>%s</title><link>https://feed%d.bench.example/%d/%d-story?utm_source=rss</link><guid isPermaLink="false">f%d-i%d</guid><pubDate>%s</pubDate><description><![CDATA[<p>%s</p><p>%s</p><p><a href="/more/%d">More</a></p>]]></description></item>
`, title, f, f, i, f, i, now.Add(-time.Duration(f*n+i)*time.Minute).Format(time.RFC1123Z), summary, body, i)
	}
	b.WriteString("</channel></rss>\n")
	return []byte(b.String())
}

// vocabulary is a long tail of made-up words, drawn with a Zipf law as the
// words of real news are, so posting lists have realistic lengths.
var vocabulary = func() []string {
	r := rand.New(rand.NewPCG(7, 7))
	const letters = "abcdefghiklmnoprstuvwy"
	words := make([]string, 20000)
	for i := range words {
		b := make([]byte, 4+r.IntN(6))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		words[i] = string(b)
	}
	return words
}()

// sentence strings n words: a third from topic, a third filler, a third from
// the long-tail vocabulary.
func sentence(r *rand.Rand, topic []string, n int) string {
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocabulary)-1))
	out := make([]string, n)
	for i := range out {
		switch r.IntN(3) {
		case 0:
			out[i] = fillerWords[r.IntN(len(fillerWords))]
		case 1:
			out[i] = topic[r.IntN(len(topic))]
		default:
			out[i] = vocabulary[zipf.Uint64()]
		}
	}
	out[0] = strings.ToUpper(out[0][:1]) + out[0][1:]
	return strings.Join(out, " ")
}
