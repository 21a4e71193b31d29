package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// maxExpansions caps how many dictionary terms the query's last term expands
// to as a prefix: the lexically first ones, the term itself first when it is
// a word of its own.
const maxExpansions = 50

// BM25 parameters, those of SQLite's FTS5, so both stores rank alike.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// searchDoc is what the search index holds of one story.
type searchDoc struct {
	freq   map[string]float64 // term → frequency, title occurrences weighted
	length int                // indexed terms in title and summary, unweighted
}

// newSearchDoc indexes a visible story's title and summary; a hidden story
// gets an empty doc and is never indexed.
func newSearchDoc(st feeds.Story) searchDoc {
	if !st.Visible {
		return searchDoc{}
	}
	d := searchDoc{freq: map[string]float64{}}
	for _, f := range []struct {
		text   string
		weight float64
	}{{st.Title, feeds.TitleWeight}, {st.Summary, 1}} {
		terms := feeds.IndexTerms(f.text)
		d.length += len(terms)
		for _, t := range terms {
			d.freq[t] += f.weight
		}
	}
	return d
}

// entry is the doc's value in the search docs hash.
func (d searchDoc) entry(st feeds.Story) string {
	return strconv.Itoa(d.length) + " " + formatTime(st.PublishedAt)
}

// writePostings queues the doc's postings and dictionary entries on p.
func (s *Store) writePostings(ctx context.Context, p goredis.Pipeliner, id int64, d searchDoc) {
	if len(d.freq) == 0 {
		return
	}
	words := make([]goredis.Z, 0, len(d.freq))
	for term, f := range d.freq {
		p.ZAdd(ctx, s.k.postings(term), goredis.Z{Score: f, Member: id})
		words = append(words, goredis.Z{Member: term})
	}
	p.ZAdd(ctx, s.k.searchTerms(), words...)
}

// hit is a story that matches every term, with what ranking needs.
type hit struct {
	id        int64
	score     float64
	published string // in timeLayout, which sorts like the time
}

// Search finds visible stories by the words of their titles and summaries:
// postings are read in one pipeline, intersected and ranked by BM25 here.
func (s *Store) Search(ctx context.Context, q feeds.SearchQuery) (feeds.SearchResult, error) {
	fail := func(err error) (feeds.SearchResult, error) {
		return feeds.SearchResult{}, fmt.Errorf("redis: search: %w", err)
	}
	terms, err := feeds.ParseSearch(q.Text)
	if err != nil {
		return fail(err)
	}
	limit, offset := q.Page()
	hits, err := s.searchHits(ctx, terms)
	if err != nil {
		return fail(err)
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := strings.Compare(b.published, a.published); c != 0 {
			return c
		}
		return cmp.Compare(b.id, a.id)
	})
	res := feeds.SearchResult{Total: len(hits)}
	hits = hits[min(offset, len(hits)):]
	hits = hits[:min(limit, len(hits))]
	if len(hits) == 0 {
		return res, nil
	}
	ids := make([]int64, len(hits))
	for i, h := range hits {
		ids[i] = h.id
	}
	if res.Stories, err = s.loadStories(ctx, ids); err != nil {
		return fail(err)
	}
	return res, nil
}

// queryTerm is one term of a query as the index knows it.
type queryTerm struct {
	keys []string // its postings: one key, or the last term's words
	df   int64    // how many stories hold it
	freq map[int64]float64
}

// searchHits returns every searchable story matching all terms, the last one
// as a prefix too, with its BM25 score, unordered.
//
// It reads as little as it can: the postings of the rarest term in full, and
// for those stories alone the other terms' frequencies (ZMSCORE) and search
// docs entries. So a query pairing a rare word with a common one ("whatsapp
// privacy") never reads the common one's postings. Round trips: the
// dictionary and sizes; the sizes of the last term's words (several terms
// only); the rarest postings; the rest.
func (s *Store) searchHits(ctx context.Context, terms []string) ([]hit, error) {
	qts := make([]queryTerm, len(terms))
	last := len(terms) - 1
	for i, t := range terms[:last] {
		qts[i].keys = []string{s.k.postings(t)}
	}
	var (
		expand *goredis.StringSliceCmd
		nDocs  *goredis.IntCmd
		tokens *goredis.StringCmd
		cards  = make([]*goredis.IntCmd, last)
	)
	_, _ = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		expand = p.ZRangeByLex(ctx, s.k.searchTerms(), &goredis.ZRangeBy{
			Min: "[" + terms[last], Max: "(" + terms[last] + "\xff", Count: maxExpansions,
		})
		nDocs = p.HLen(ctx, s.k.searchDocs())
		tokens = p.Get(ctx, s.k.searchTokens())
		for i := range cards {
			cards[i] = p.ZCard(ctx, qts[i].keys[0])
		}
		return nil
	}) // errors are read from each command: a missing total is no error
	for _, c := range append([]goredis.Cmder{expand, nDocs}, cmders(cards)...) {
		if err := c.Err(); err != nil {
			return nil, err
		}
	}
	total, err := tokens.Int64()
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	n := nDocs.Val()
	if n == 0 || len(expand.Val()) == 0 {
		return nil, nil
	}
	for _, w := range expand.Val() {
		qts[last].keys = append(qts[last].keys, s.k.postings(w))
	}
	for i, c := range cards {
		if qts[i].df = c.Val(); qts[i].df == 0 {
			return nil, nil
		}
	}

	driver := last
	if last > 0 {
		// The prefix term's size is the sum of its words' (a story holding
		// two of them counts twice): close enough to pick the rarest term,
		// and for its weight.
		cmds := make([]*goredis.IntCmd, len(qts[last].keys))
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, k := range qts[last].keys {
				cmds[i] = p.ZCard(ctx, k)
			}
			return nil
		}); err != nil {
			return nil, err
		}
		for _, c := range cmds {
			qts[last].df += c.Val()
		}
		for i := range qts {
			if qts[i].df < qts[driver].df {
				driver = i
			}
		}
	}

	// The rarest term's postings in full; the union of its words, for the
	// prefix term, whose size is then exact.
	full := make([]*goredis.ZSliceCmd, len(qts[driver].keys))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range qts[driver].keys {
			full[i] = p.ZRangeWithScores(ctx, k, 0, -1)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	qts[driver].freq = map[int64]float64{}
	for _, cmd := range full {
		for _, z := range cmd.Val() {
			m, _ := z.Member.(string)
			id, err := strconv.ParseInt(m, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("posting %q of %q: %w", m, terms[driver], err)
			}
			qts[driver].freq[id] += z.Score
		}
	}
	if driver == last {
		qts[last].df = int64(len(qts[last].freq))
	}
	if len(qts[driver].freq) == 0 {
		return nil, nil
	}
	cands := make([]int64, 0, len(qts[driver].freq))
	members := make([]string, 0, len(qts[driver].freq))
	for id := range qts[driver].freq {
		cands = append(cands, id)
		members = append(members, strconv.FormatInt(id, 10))
	}

	// The other terms' frequencies and the search docs entries of those
	// stories alone.
	scores := make([][]*goredis.FloatSliceCmd, len(qts))
	var entries *goredis.SliceCmd
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for t := range qts {
			if t == driver {
				continue
			}
			for _, k := range qts[t].keys {
				scores[t] = append(scores[t], p.ZMScore(ctx, k, members...))
			}
		}
		entries = p.HMGet(ctx, s.k.searchDocs(), members...)
		return nil
	}); err != nil {
		return nil, err
	}
	for t := range qts {
		if t == driver {
			continue
		}
		qts[t].freq = make(map[int64]float64, len(cands))
		for _, cmd := range scores[t] {
			for i, f := range cmd.Val() { // 0 for a story without the word
				if f > 0 {
					qts[t].freq[cands[i]] += f
				}
			}
		}
	}
	return rank(qts, n, total, cands, entries.Val())
}

// rank scores the candidates that hold every term and have a search docs
// entry with BM25 as FTS5 computes it: idf = ln((N - n + 0.5) / (n + 0.5)),
// at least 1e-6. A term's n counts postings, so it may include the few left
// by a lost claim, which only nudges its weight.
func rank(qts []queryTerm, n, total int64, cands []int64, entries []any) ([]hit, error) {
	idf := make([]float64, len(qts))
	for i, qt := range qts {
		df := float64(min(qt.df, n))
		idf[i] = math.Log((float64(n) - df + 0.5) / (df + 0.5))
		if idf[i] <= 0 {
			idf[i] = 1e-6
		}
	}
	avgLen := max(float64(total)/float64(n), 1)
	hits := make([]hit, 0, len(cands))
next:
	for i, id := range cands {
		entry, ok := entries[i].(string)
		if !ok {
			continue // not stored (yet): its claim lost or has not happened
		}
		lenText, published, ok := strings.Cut(entry, " ")
		length, err := strconv.Atoi(lenText)
		if !ok || err != nil {
			return nil, fmt.Errorf("search entry %q of story %d is malformed", entry, id)
		}
		h := hit{id: id, published: published}
		norm := bm25K1 * (1 - bm25B + bm25B*float64(length)/avgLen)
		for t, qt := range qts {
			tf := qt.freq[id]
			if tf == 0 {
				continue next // lacks a term
			}
			h.score += idf[t] * tf * (bm25K1 + 1) / (tf + norm)
		}
		hits = append(hits, h)
	}
	return hits, nil
}

func cmders[C goredis.Cmder](cmds []C) []goredis.Cmder {
	out := make([]goredis.Cmder, len(cmds))
	for i, c := range cmds {
		out[i] = c
	}
	return out
}
