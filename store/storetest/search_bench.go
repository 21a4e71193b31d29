package storetest

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// BenchStories is how many stories BenchmarkSearch stores before measuring.
const BenchStories = 10_000

// BenchmarkSearch fills s, which must be empty, with BenchStories generated
// visible stories and measures Search for a few kinds of query, a page of 30
// each. The texts draw on a Zipf vocabulary of made-up words, with a few real
// words mixed in at set rates: "privacy" in about 30% of stories,
// "surveillance" 10%, "encryption" 6%, "metadata" 4%, "whatsapp" 2%.
func BenchmarkSearch(b *testing.B, s feeds.Store) {
	fillSearchBench(b, s)
	for _, q := range []struct{ name, text string }{
		{"rare", "whatsapp"},
		{"common", "privacy"},
		{"two-terms", "whatsapp metadata"},
		{"prefix", "encrypt"},
		{"three-terms", "privacy surveillance metadata"},
		{"no-match", "zzyzx"},
	} {
		b.Run(q.name, func(b *testing.B) {
			total := 0
			for b.Loop() {
				res, err := s.Search(b.Context(), feeds.SearchQuery{Text: q.text, Limit: 30})
				if err != nil {
					b.Fatal(err)
				}
				total = res.Total
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}

func fillSearchBench(b *testing.B, s feeds.Store) {
	b.Helper()
	r := rand.New(rand.NewPCG(7, 11))
	vocab := benchVocabulary(r, 6000)
	zipf := rand.NewZipf(r, 1.1, 4, uint64(len(vocab)-1))
	topical := []struct {
		word string
		rate float64
	}{{"privacy", 0.30}, {"surveillance", 0.10}, {"encryption", 0.06}, {"metadata", 0.04}, {"whatsapp", 0.02}}
	text := func(n int) string {
		words := make([]string, n)
		for i := range words {
			words[i] = vocab[zipf.Uint64()]
		}
		return strings.Join(words, " ")
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	const batchSize = 250
	for done := 0; done < BenchStories; done += batchSize {
		batch := make([]feeds.Story, 0, batchSize)
		for i := done; i < done+batchSize && i < BenchStories; i++ {
			title, summary := text(8), text(45)
			for _, t := range topical {
				if r.Float64() < t.rate {
					if r.IntN(3) == 0 {
						title += " " + t.word
					} else {
						summary += " " + t.word
					}
				}
			}
			at := start.Add(time.Duration(i) * 17 * time.Minute)
			batch = append(batch, feeds.Story{
				SourceID: int64(1 + i%40), GUID: fmt.Sprintf("bench:%d", i),
				URL:   fmt.Sprintf("https://bench.example/%d", i),
				Title: title, Summary: summary, Content: "<p>" + summary + "</p>",
				PublishedAt: at, FirstSeenAt: at, Relevance: 0.8, Visible: true,
			})
		}
		if _, err := s.AddStories(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// benchVocabulary makes n distinct pronounceable words, none a real one the
// benchmark searches for.
func benchVocabulary(r *rand.Rand, n int) []string {
	syllables := strings.Fields("ka lo mi ne ru ta vo shi den mar pol ser tin gra bel om ux fen dro qua")
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var w strings.Builder
		for range 2 + r.IntN(3) {
			w.WriteString(syllables[r.IntN(len(syllables))])
		}
		if word := w.String(); !seen[word] {
			seen[word] = true
			out = append(out, word)
		}
	}
	return out
}
