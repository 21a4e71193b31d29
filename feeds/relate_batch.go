package feeds

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"time"
)

// How a poll relates a feed's new stories with one query each. Before
// storing, Match looks a story up once: that gives its cluster (which is
// stored with it) and the stories that score best against it. After storing,
// AddAll indexes the feed's stories together, and Relate works out each
// one's Similar Posts by scoring, exactly as Similar scores them but with
// no walk through the index, only those candidates and the stories indexed
// since the Match (the feed's own among them). This gives Similar's list as
// long as the index's weights, which move a little with every story added,
// do not lift a story from outside the candidates into the best k; the
// candidates are ranked by what their score may become (the tag bonus
// counts a little below its threshold) and are relCandidateFactor times as
// many as needed. On 4,000 stories of 400 generated feeds, through indexes
// of 600 and 5,000 stories, with up to eight feeds looked up before the
// first was stored (as concurrent workers do), every list equalled
// Similar's (relate_batch_test.go checks a part of this on every run). A
// story whose candidates ran short (cluster mates, evictions), or behind
// which many stories were indexed, gets a full query instead. Relate then
// offers each new story to the older stories on its list, whose lists the
// Relater keeps, so that no store read is needed.

const (
	// relCandidateFactor·k candidates are kept per story by Match.
	relCandidateFactor = 8
	// relMaxRescore bounds the stories indexed between a Match and Relate
	// that are scored one by one; past it, one full query is cheaper.
	relMaxRescore = 1024
	// relMatchSlack is how far below a threshold (the floor, the tag
	// bonus's) a score may be at the Match and still pass it later.
	relMatchSlack = 0.8
)

// Match is what one look-up in the index tells about a story not yet stored.
type Match struct {
	// Cluster is the leader of the cluster the story joins, as Cluster
	// returns it, or 0.
	Cluster int64
	cands   []int64 // the best-scoring stories outside the cluster, best first
	seq     uint64  // the index's next sequence number at the look-up
	// full: more stories scored than cands holds, so cands must keep enough
	// of them (see similarAfter).
	full bool
}

// Match looks st up once and returns its cluster and its k·relCandidateFactor
// best candidates for Similar Posts (none when k is 0), for Relate.
func (r *Relater) Match(st Story, k int) Match {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.getScratch()
	defer r.putScratch(s)
	m := Match{seq: r.next}
	qNorm := r.query(st, s)
	if qNorm == 0 {
		return m // no terms: nothing is similar, now or later
	}
	published := st.PublishedAt.Unix()
	window := int64(ClusterWindow / time.Second)
	a := r.normBase()
	tags := tagSetOf(st.Tags)
	want := k * relCandidateFactor
	cands := make([]Related, 0, want)
	var best *relDoc
	bestScore := 0.0
	// Most stories score too low for either use; they are told apart with
	// squares, before the square root and division of the cosine. entry is
	// the lowest score that may still enter the candidates.
	qNorm2, aa, a2 := qNorm*qNorm, a*a, 2*a
	entry := SimilarFloor * relMatchSlack
	if want == 0 {
		entry = math.Inf(1)
	}
	for _, slot := range s.touched {
		d := &r.docs[slot]
		n2 := aa*d.s0 - a2*d.s1 + d.s2 // as norm computes it
		if n2 <= 1e-12 || st.ID != 0 && d.id == st.ID {
			continue
		}
		// What the tag bonus may add, as the weights move: it counts a
		// little below its threshold too.
		bonus := min(relTagBonus*float64(bits.OnesCount16(uint16(d.tags&tags))), relTagBonusMax)
		// The lowest cosine that may count, loosened against rounding.
		low := max(min(ClusterThreshold, entry-bonus)*0.999, 0)
		dot := s.dot[slot]
		if dot*dot < low*low*qNorm2*n2 {
			continue
		}
		cos := dot / (qNorm * math.Sqrt(n2))
		gap := d.published - published
		// The most similar story of another source within the window leads;
		// on a tie, the earlier story.
		if cos >= ClusterThreshold && d.source != st.SourceID && gap <= window && gap >= -window &&
			(best == nil || cos > bestScore || cos == bestScore && d.id < best.id) {
			best, bestScore = d, cos
		}
		if want > 0 {
			score := cos
			if score >= relTagBonusMinCosine*relMatchSlack {
				score += bonus
			}
			if score >= SimilarFloor*relMatchSlack {
				cands = insertRelated(cands, Related{ID: d.id, Score: score}, want)
				if len(cands) == want {
					entry = cands[want-1].Score
				}
			}
		}
	}
	switch {
	case best == nil:
	case best.cluster != 0:
		m.Cluster = best.cluster
	default:
		m.Cluster = best.id
	}
	leader := cmp.Or(m.Cluster, st.ID)
	m.cands = make([]int64, 0, len(cands))
	for _, c := range cands {
		d := &r.docs[r.byID[c.ID]%uint64(r.max)]
		if leader == 0 || d.id != leader && d.cluster != leader {
			m.cands = append(m.cands, d.id)
		}
	}
	m.full = len(cands) == want && want > 0
	return m
}

// AddAll indexes stored stories (IDs set), as Add does for each in order,
// working out each changed document frequency once for all of them.
func (r *Relater) AddAll(sts []Story) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(sts) > r.max/4 {
		for _, st := range sts {
			r.addLocked(st)
		}
		return
	}
	docs := make([]relDoc, 0, len(sts))
	delta := make(map[int32]int32)
	for _, st := range sts {
		if _, dup := r.byID[st.ID]; dup || slices.ContainsFunc(docs, func(d relDoc) bool { return d.id == st.ID }) {
			continue
		}
		d := r.newDoc(st)
		for _, rt := range d.terms {
			delta[rt.term]++
		}
		docs = append(docs, d)
	}
	for evict := int(r.next-r.first) + len(docs) - r.max; evict > 0; evict-- {
		for _, rt := range r.popOldest() {
			delta[rt.term]--
		}
	}
	terms := make([]int32, 0, len(delta))
	for t := range delta {
		terms = append(terms, t)
	}
	slices.Sort(terms) // a fixed order: the same sums on every run
	for _, t := range terms {
		old := r.df[t]
		r.df[t] = old + delta[t]
		r.adjustNorms(t, old, r.df[t])
		if r.df[t] == 0 {
			r.freeTerm(t)
		}
	}
	for _, d := range docs {
		r.appendDoc(d)
	}
}

// Relate works out the Similar Posts (at most k) of fresh stories, just
// indexed with AddAll, each with the Match made for it before it was stored
// (matches[i] for fresh[i]; a missing one costs a full query). It then offers
// each fresh story to the older stories on its list: an older story whose
// list is still short (it arrived into a small index) has its list worked out
// again; a full one takes the offer when it beats its weakest entry. It
// returns every list that changed, by story ID, and keeps them: the lists
// start as stored (Add) and change only here, so they are the stored ones as
// long as this Relater is the only one relating stories in the store.
func (r *Relater) Relate(fresh []Story, matches []Match, k int) map[int64][]Related {
	r.mu.Lock()
	defer r.mu.Unlock()
	lists := make(map[int64][]Related)
	offers := make(map[int64][]Related) // older story → newer stories offered to it
	for i, st := range fresh {
		seq, ok := r.byID[st.ID]
		if !ok {
			continue
		}
		d := &r.docs[seq%uint64(r.max)]
		var m Match
		if i < len(matches) {
			m = matches[i]
		}
		list := r.similarAfter(d, m, k)
		d.similar = list
		if len(list) > 0 {
			lists[st.ID] = list
		}
		for _, x := range list {
			offers[x.ID] = append(offers[x.ID], Related{ID: st.ID, Score: x.Score})
		}
	}
	// The fresh stories' own lists already include each other.
	for _, st := range fresh {
		delete(offers, st.ID)
	}
	ids := make([]int64, 0, len(offers))
	for id := range offers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		seq, ok := r.byID[id]
		if !ok {
			continue
		}
		d := &r.docs[seq%uint64(r.max)]
		if len(d.similar) < k {
			d.similar = r.similarToLocked(d, k)
			lists[id] = d.similar
			continue
		}
		list, changed := d.similar, false
		for _, x := range offers[id] {
			var ch bool
			list, ch = offerSimilar(list, x, k)
			changed = changed || ch
		}
		if changed {
			d.similar = list
			lists[id] = list
		}
	}
	return lists
}

// similarAfter is Similar for the indexed story d, given the Match made for
// it before it was indexed: its candidates and the stories indexed since are
// scored exactly as the full query would score them. r.mu is held.
func (r *Relater) similarAfter(d *relDoc, m Match, k int) []Related {
	if k <= 0 {
		return nil
	}
	// The candidates must still hold a margin over k (cluster mates left
	// them, and the index evicts the oldest), and the stories indexed since
	// the Match must be few; otherwise one full query.
	live := 0
	for _, id := range m.cands {
		if _, ok := r.byID[id]; ok {
			live++
		}
	}
	if m.full && live < 2*k || r.next-max(m.seq, r.first) > relMaxRescore {
		return r.similarToLocked(d, k)
	}
	// The query's weights and norm, summed in the order score sums them.
	w := make([]float64, len(d.terms))
	var qNorm2 float64
	for i, t := range d.terms {
		tf, idf := float64(t.tf), r.idf(t.term)
		qNorm2 += tf * tf * idf * idf
		w[i] = tf * idf * idf
	}
	qNorm := math.Sqrt(qNorm2)
	if qNorm == 0 {
		return nil
	}
	leader := cmp.Or(d.cluster, d.id)
	a := r.normBase()
	out := make([]Related, 0, k)
	visit := func(slot uint32) {
		c := &r.docs[slot]
		if c.id == d.id || leader != 0 && (c.id == leader || c.cluster == leader) {
			return
		}
		cn := r.norm(slot, a)
		if cn == 0 {
			return
		}
		var dot float64
		for i, j := 0, 0; i < len(d.terms) && j < len(c.terms); {
			switch ti, tj := d.terms[i].term, c.terms[j].term; {
			case ti < tj:
				i++
			case ti > tj:
				j++
			default:
				dot += w[i] * float64(c.terms[j].tf)
				i++
				j++
			}
		}
		if x, ok := r.relatedScore(dot/(qNorm*cn), c.tags&d.tags); ok {
			out = insertRelated(out, Related{ID: c.id, Score: x}, k)
		}
	}
	for _, id := range m.cands {
		if seq, ok := r.byID[id]; ok {
			visit(uint32(seq % uint64(r.max)))
		}
	}
	for seq := max(m.seq, r.first); seq < r.next; seq++ {
		visit(uint32(seq % uint64(r.max)))
	}
	return out
}

// relatedScore turns a cosine into a Similar score: the bonus for shared
// tags, rounded so that stories of equal text tie exactly whatever the
// floating-point history of their norms; false when below the floor.
func (r *Relater) relatedScore(cos float64, shared tagSet) (float64, bool) {
	if cos >= relTagBonusMinCosine {
		cos += min(relTagBonus*float64(bitCount(uint16(shared))), relTagBonusMax)
	}
	score := math.Round(cos*1e6) / 1e6
	return score, score >= SimilarFloor
}

// offerSimilar adds x to list (most similar first, at most k long) when the
// list has room or x beats its weakest entry.
func offerSimilar(list []Related, x Related, k int) ([]Related, bool) {
	for _, y := range list {
		if y.ID == x.ID {
			return list, false
		}
	}
	out := slices.Clone(list)
	switch {
	case len(out) < k:
		out = append(out, x)
	case out[len(out)-1].Score < x.Score:
		out[len(out)-1] = x
	default:
		return list, false
	}
	slices.SortStableFunc(out, func(a, b Related) int { return cmp.Compare(b.Score, a.Score) })
	return out, true
}
