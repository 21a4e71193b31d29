package feeds

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"time"
)

// How the Relater works. Each indexed story is a bag of terms — the shared
// tokenizer's folded tokens, stop words dropped — where a title token counts
// relTitleWeight times and a summary token once. Terms are weighted tf·idf with
// idf = ln((N+1)/df), and stories compared by cosine. An inverted index (term
// → postings, oldest first) makes a query touch only the stories sharing one
// of its terms. Because N and df change with every Add, a story's norm is kept
// in a form that stays exact without revisiting it on every change:
//
//	|d|² = Σ tf²·(a − ln df)² = a²·s0 − 2a·s1 + s2,   a = ln(N+1)
//
// with s0 = Σ tf², s1 = Σ tf²·ln df, s2 = Σ tf²·(ln df)²; when a term's df
// changes, s1 and s2 of the stories in its postings are adjusted. Eviction
// drops the oldest story, which heads each of its terms' postings.

const (
	// DefaultRelaterSize is the index size NewRelater uses when given less than 1.
	DefaultRelaterSize = 5000
	// SimilarFloor is the lowest score a Similar result may have.
	SimilarFloor = 0.08
	// ClusterThreshold is the cosine at or above which two stories from
	// different sources, published within ClusterWindow, report one event.
	// Calibrated on the hand-written pairs in relate_test.go, against an index
	// of the 422 labelled stories: one event written up by two outlets scored
	// 0.39–0.64, different stories about the same company or topic at most
	// 0.29; the threshold sits midway.
	ClusterThreshold = 0.34
	// ClusterWindow is how far apart in publication two stories of one event
	// may be.
	ClusterWindow = 72 * time.Hour

	relTitleWeight = 2
	relTagBonus    = 0.05 // per shared topic tag
	relTagBonusMax = 0.15
	// The tag bonus only lifts stories whose text is somewhat similar already,
	// so that sharing tags alone never lists an unrelated story.
	relTagBonusMinCosine = SimilarFloor / 2
	relMaxQueryTerms     = 256
)

// Relater keeps a bounded in-memory TF-IDF index of recent stories and finds,
// for a story, the most similar ones and the cluster (same event, another
// outlet) it belongs to. It is safe for concurrent use.
type Relater struct {
	mu   sync.RWMutex
	docs []relDoc // ring buffer of capacity max; slot of seq s is s % max
	max  int
	// Live stories have sequence numbers first ≤ seq < next.
	first, next uint64
	byID        map[int64]uint64 // story ID → seq

	terms     map[string]int32 // term → term ID
	termWords []string         // term ID → term ("" when free)
	df        []int32          // term ID → number of stories holding it
	postings  [][]relPosting   // term ID → stories holding it, oldest first
	freeTerms []int32

	scratch sync.Pool // *relScratch
}

// relDoc is one indexed story.
type relDoc struct {
	id, cluster, source int64
	published           int64 // Unix seconds
	tags                tagSet
	terms               []relTerm // sorted by term ID
	s0, s1, s2          float64   // see the norm formula above
	// similar is the story's Similar list as last stored (see Relate).
	similar []Related
}

type relTerm struct {
	term int32
	tf   float32
}

type relPosting struct {
	slot uint32
	tf   float32
}

// relScratch is a query's per-story accumulator, reused through a pool.
type relScratch struct {
	dot     []float64 // by slot
	touched []uint32
	query   []relQueryTerm
}

type relQueryTerm struct {
	term int32  // -1: not in the index
	hash uint64 // tells unindexed terms apart
	tf   float64
}

// NewRelater returns an index holding at most maxDocs stories (oldest dropped).
func NewRelater(maxDocs int) *Relater {
	if maxDocs < 1 {
		maxDocs = DefaultRelaterSize
	}
	r := &Relater{
		docs:  make([]relDoc, maxDocs),
		max:   maxDocs,
		byID:  make(map[int64]uint64, maxDocs),
		terms: make(map[string]int32),
	}
	r.scratch.New = func() any {
		return &relScratch{dot: make([]float64, maxDocs)}
	}
	return r
}

// Len returns the number of indexed stories.
func (r *Relater) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return int(r.next - r.first)
}

// Add indexes a stored story (ID set). Its Similar list, as stored, is kept
// with it for Relate.
func (r *Relater) Add(st Story) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(st)
}

// addLocked is Add with r.mu held.
func (r *Relater) addLocked(st Story) {
	if _, dup := r.byID[st.ID]; dup {
		return
	}
	if r.next-r.first == uint64(r.max) {
		r.evictOldest()
	}
	d := r.newDoc(st)
	for _, rt := range d.terms {
		r.changeDF(rt.term, +1)
	}
	r.appendDoc(d)
}

// newDoc returns st as an unindexed relDoc: its terms counted (creating term
// IDs for new words), sorted by term ID, and no norm sums yet.
func (r *Relater) newDoc(st Story) relDoc {
	var terms []relTerm
	r.eachTerm(st.Title, func(tok []byte) { terms = append(terms, relTerm{term: r.termID(tok), tf: relTitleWeight}) })
	r.eachTerm(st.Summary, func(tok []byte) { terms = append(terms, relTerm{term: r.termID(tok), tf: 1}) })
	slices.SortStableFunc(terms, func(a, b relTerm) int { return cmp.Compare(a.term, b.term) })
	merged := terms[:0]
	for _, t := range terms {
		if n := len(merged); n > 0 && merged[n-1].term == t.term {
			merged[n-1].tf += t.tf
			continue
		}
		merged = append(merged, t)
	}
	return relDoc{
		id: st.ID, cluster: st.ClusterID, source: st.SourceID,
		published: st.PublishedAt.Unix(), tags: tagSetOf(st.Tags),
		terms: slices.Clip(merged), similar: slices.Clone(st.Similar),
	}
}

// appendDoc indexes d, whose terms' document frequencies already count it:
// its norm sums and postings.
func (r *Relater) appendDoc(d relDoc) {
	seq := r.next
	r.next++
	slot := uint32(seq % uint64(r.max))
	r.byID[d.id] = seq
	for _, rt := range d.terms {
		g := math.Log(float64(r.df[rt.term]))
		tf2 := float64(rt.tf) * float64(rt.tf)
		d.s0 += tf2
		d.s1 += tf2 * g
		d.s2 += tf2 * g * g
		r.postings[rt.term] = append(r.postings[rt.term], relPosting{slot: slot, tf: rt.tf})
	}
	r.docs[slot] = d
}

// eachTerm calls fn with every indexable token of text.
func (r *Relater) eachTerm(text string, fn func(tok []byte)) {
	var tz tokenizer
	tz.reset(text)
	for tz.next() {
		if tok := tz.token(); !isStopToken(tok) {
			fn(tok)
		}
	}
}

// termID returns the ID of the term tok, creating it when new.
func (r *Relater) termID(tok []byte) int32 {
	if t, ok := r.terms[string(tok)]; ok {
		return t
	}
	return r.newTerm(string(tok))
}

func (r *Relater) newTerm(word string) int32 {
	var t int32
	if n := len(r.freeTerms); n > 0 {
		t = r.freeTerms[n-1]
		r.freeTerms = r.freeTerms[:n-1]
		r.termWords[t] = word
	} else {
		t = int32(len(r.termWords))
		r.termWords = append(r.termWords, word)
		r.df = append(r.df, 0)
		r.postings = append(r.postings, nil)
	}
	r.terms[word] = t
	return t
}

// changeDF moves term t's document frequency by delta and keeps the norm sums
// of the stories already in its postings exact.
func (r *Relater) changeDF(t int32, delta int32) {
	old := r.df[t]
	r.df[t] = old + delta
	r.adjustNorms(t, old, old+delta)
}

// adjustNorms updates the norm sums of the stories in t's postings for its
// document frequency moving from old to now.
func (r *Relater) adjustNorms(t int32, old, now int32) {
	if old == now || old == 0 || now == 0 {
		return // no other story holds t, or nothing changed
	}
	gOld, gNew := math.Log(float64(old)), math.Log(float64(now))
	d1, d2 := gNew-gOld, gNew*gNew-gOld*gOld
	for _, p := range r.postings[t] {
		doc := &r.docs[p.slot]
		tf2 := float64(p.tf) * float64(p.tf)
		doc.s1 += tf2 * d1
		doc.s2 += tf2 * d2
	}
}

// evictOldest drops the oldest story.
func (r *Relater) evictOldest() {
	for _, rt := range r.popOldest() {
		r.changeDF(rt.term, -1)
		if r.df[rt.term] == 0 {
			r.freeTerm(rt.term)
		}
	}
}

// popOldest drops the oldest story from the postings of its terms, which it
// heads, and returns its terms; their document frequencies still count it.
func (r *Relater) popOldest() []relTerm {
	slot := uint32(r.first % uint64(r.max))
	d := &r.docs[slot]
	terms := d.terms
	for _, rt := range terms {
		ps := r.postings[rt.term]
		if len(ps) == 0 || ps[0].slot != slot {
			panic("feeds: relater postings out of order") // an invariant, not input
		}
		ps[0] = relPosting{}
		r.postings[rt.term] = ps[1:]
	}
	delete(r.byID, d.id)
	*d = relDoc{}
	r.first++
	return terms
}

// freeTerm forgets term t, which no story holds any more.
func (r *Relater) freeTerm(t int32) {
	delete(r.terms, r.termWords[t])
	r.termWords[t] = ""
	r.postings[t] = nil
	r.freeTerms = append(r.freeTerms, t)
}

// idf is term t's inverse document frequency now; a term no story holds
// counts as held by one (the query itself).
func (r *Relater) idf(t int32) float64 {
	df := int32(1)
	if t >= 0 && r.df[t] > 0 {
		df = r.df[t]
	}
	return math.Log(float64(r.next-r.first+1) / float64(df))
}

// normBase is a = ln(N+1) of the norm formula, for norm.
func (r *Relater) normBase() float64 { return math.Log(float64(r.next - r.first + 1)) }

// norm is the length of the tf·idf vector of the story in slot, given
// a = normBase().
func (r *Relater) norm(slot uint32, a float64) float64 {
	d := &r.docs[slot]
	n2 := a*a*d.s0 - 2*a*d.s1 + d.s2
	if n2 <= 1e-12 {
		return 0
	}
	return math.Sqrt(n2)
}

// query computes, into s, the cosine numerators of every story sharing a term
// with st, and returns the norm of st's own vector (0: no terms).
func (r *Relater) query(st Story, s *relScratch) float64 {
	s.query = s.query[:0]
	add := func(tok []byte, w float64) {
		if len(s.query) == relMaxQueryTerms {
			return
		}
		q := relQueryTerm{term: -1, tf: w}
		if t, ok := r.terms[string(tok)]; ok {
			q.term = t
		} else {
			q.hash = fnv64a(tok)
		}
		s.query = append(s.query, q)
	}
	var tz tokenizer
	tz.reset(st.Title)
	for tz.next() {
		if tok := tz.token(); !isStopToken(tok) {
			add(tok, relTitleWeight)
		}
	}
	tz.reset(st.Summary)
	for tz.next() {
		if tok := tz.token(); !isStopToken(tok) {
			add(tok, 1)
		}
	}
	// Merge repeated terms.
	slices.SortFunc(s.query, func(a, b relQueryTerm) int {
		return cmp.Or(cmp.Compare(a.term, b.term), cmp.Compare(a.hash, b.hash))
	})
	merged := s.query[:0]
	for _, q := range s.query {
		if n := len(merged); n > 0 && merged[n-1].term == q.term && merged[n-1].hash == q.hash {
			merged[n-1].tf += q.tf
			continue
		}
		merged = append(merged, q)
	}
	s.query = merged
	return r.score(s)
}

// score accumulates, for the query terms in s, the dot product with every
// indexed story sharing one, and returns the query's norm.
func (r *Relater) score(s *relScratch) float64 {
	var qNorm2 float64
	for _, q := range s.query {
		idf := r.idf(q.term)
		qNorm2 += q.tf * q.tf * idf * idf
		if q.term < 0 {
			continue
		}
		w := q.tf * idf * idf
		for _, p := range r.postings[q.term] {
			if s.dot[p.slot] == 0 {
				s.touched = append(s.touched, p.slot)
			}
			s.dot[p.slot] += w * float64(p.tf)
		}
	}
	return math.Sqrt(qNorm2)
}

// fnv64a is the 64-bit FNV-1a hash of b.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func (r *Relater) getScratch() *relScratch { return r.scratch.Get().(*relScratch) }

func (r *Relater) putScratch(s *relScratch) {
	for _, slot := range s.touched {
		s.dot[slot] = 0
	}
	s.touched = s.touched[:0]
	r.scratch.Put(s)
}

// Similar returns up to k indexed stories most similar to st (excluding st
// itself and stories of its own cluster), most similar first.
func (r *Relater) Similar(st Story, k int) []Related {
	if k <= 0 {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.getScratch()
	defer r.putScratch(s)
	return r.rank(s, r.query(st, s), st.ID, st.ClusterID, tagSetOf(st.Tags), k)
}

// SimilarTo is Similar for a story already indexed, worked out from its
// indexed terms with the index's current weights, so a story's list can be
// brought up to date as the index grows. It reports false when id is not (or
// no longer) indexed.
func (r *Relater) SimilarTo(id int64, k int) ([]Related, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	seq, ok := r.byID[id]
	if !ok {
		return nil, false
	}
	return r.similarToLocked(&r.docs[seq%uint64(r.max)], k), true
}

// similarToLocked is SimilarTo for the indexed story d; r.mu is held.
func (r *Relater) similarToLocked(d *relDoc, k int) []Related {
	if k <= 0 {
		return nil
	}
	s := r.getScratch()
	defer r.putScratch(s)
	s.query = s.query[:0]
	for _, t := range d.terms {
		s.query = append(s.query, relQueryTerm{term: t.term, tf: float64(t.tf)})
	}
	return r.rank(s, r.score(s), d.id, d.cluster, d.tags, k)
}

// rank turns the dot products in s into the k best Related, leaving out the
// story itself and the stories of its cluster.
func (r *Relater) rank(s *relScratch, qNorm float64, self, cluster int64, tags tagSet, k int) []Related {
	if qNorm == 0 {
		return nil
	}
	leader := cluster
	if leader == 0 {
		leader = self
	}
	a := r.normBase()
	out := make([]Related, 0, min(k, len(s.touched)))
	for _, slot := range s.touched {
		d := &r.docs[slot]
		if d.id == self || leader != 0 && (d.id == leader || d.cluster == leader) {
			continue
		}
		dn := r.norm(slot, a)
		if dn == 0 {
			continue
		}
		if score, ok := r.relatedScore(s.dot[slot]/(qNorm*dn), d.tags&tags); ok {
			out = insertRelated(out, Related{ID: d.id, Score: score}, k)
		}
	}
	return out
}

// insertRelated inserts x into list, kept most similar first (then newest ID
// first) and at most k long.
func insertRelated(list []Related, x Related, k int) []Related {
	i := len(list)
	for i > 0 && (list[i-1].Score < x.Score || list[i-1].Score == x.Score && list[i-1].ID < x.ID) {
		i--
	}
	if i >= k {
		return list
	}
	if len(list) < k {
		list = append(list, Related{})
	}
	copy(list[i+1:], list[i:])
	list[i] = x
	return list
}

// Cluster returns the ID of the cluster leader st belongs to — an indexed story
// from another source about the same event, published within three days — or 0.
func (r *Relater) Cluster(st Story) int64 { return r.Match(st, 0).Cluster }
