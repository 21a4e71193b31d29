package feeds

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// How the Classifier works. Its vocabulary (classify_vocab.go) is a list of
// concepts; each concept has a weight, topic tags and a few surface forms —
// words or phrases of up to four words — normalised by the shared tokenizer.
// Title and summary are each read once, matching the longest form at every
// position, so a phrase consumes its words ("privacy fence" is not also
// "privacy"). A concept counts at most once per field: titleWeight times its
// weight in the title, once its weight in the summary. Modifier concepts —
// generic words such as "fine", "court", "breach", "police", "children" —
// count fully only in a story that also has an anchor (a concept about
// personal data itself); alone they count for modifierAlone of their weight,
// so that a bank fined over money laundering stays off. Negative concepts are
// off-topic context ("private equity", "Security Council", earnings, sports)
// and dampen the sum, which a logistic squashes into the 0..1 relevance.

// DefaultThreshold is the relevance at or above which a story is shown.
const DefaultThreshold = 0.5

const (
	titleWeight   = 2.0 // a concept in the title weighs this much more
	relevanceBias = 3.0 // raw score that maps to relevance 0.5
	relevanceRate = 1.0 // steepness of the squash around the bias
	// A tag needs this much evidence: a concept carrying it in the title or
	// the summary (a weak concept counts for its weight only), and at least
	// tagRelativeEvidence of the strongest tag's; a story gets maxTags at most.
	tagEvidence         = 1.0
	tagRelativeEvidence = 0.35
	maxTags             = 3
	// Tags are only given to stories with at least this relevance, so that a
	// "levee breach" gets no data-breach tag.
	tagMinRelevance = 0.2
	maxPhraseLen    = 4
	// Modifiers count fully once anchors reach anchorMin, else this share.
	anchorMin     = 1.0
	modifierAlone = 0.25
)

// topicTags are the topic tags the Classifier gives, sorted:
//
//	biometrics    face, fingerprint, iris and voice recognition
//	children      children's and students' data, age verification, COPPA
//	data-breach   breaches, leaks and exposed databases of personal data
//	encryption    end-to-end encryption, backdoors, client-side scanning
//	health-data   medical, genetic, reproductive and fitness data
//	location      location data, brokers selling it, trackers used to stalk
//	messaging     messengers and their privacy (WhatsApp, Signal, iMessage)
//	metadata      who talks to whom: call records, retention, EXIF, DNS
//	regulation    privacy laws, regulators, fines and court rulings
//	spyware       commercial spyware and stalkerware
//	surveillance  state and workplace surveillance, warrants, cameras
//	tracking      ad tracking, cookies, fingerprinting, data sharing
//	vpn           VPNs, Tor and other anonymity tools
var topicTags = [...]string{
	"biometrics", "children", "data-breach", "encryption", "health-data", "location",
	"messaging", "metadata", "regulation", "spyware", "surveillance", "tracking", "vpn",
}

// TopicTags returns the topic tags the Classifier gives, sorted.
func TopicTags() []string { return slices.Clone(topicTags[:]) }

// tagSet is a set of topic tags, bit i standing for topicTags[i].
type tagSet uint16

// A tagSet holds 16 tags at most (a build error here means too many).
var _ [16 - len(topicTags)]struct{}

func tagBit(tag string) tagSet {
	for i, t := range topicTags {
		if t == tag {
			return 1 << i
		}
	}
	return 0
}

// tagSetOf returns the known tags among tags.
func tagSetOf(tags []string) tagSet {
	var s tagSet
	for _, t := range tags {
		s |= tagBit(t)
	}
	return s
}

// Classifier scores how much a story is about privacy and tags its topics, from
// its title and summary. It is safe for concurrent use.
type Classifier struct {
	// Threshold is the relevance at or above which a story is shown.
	Threshold float64
}

// NewClassifier returns the classifier with its built-in vocabulary.
func NewClassifier() *Classifier {
	return &Classifier{Threshold: DefaultThreshold}
}

// Classify returns a relevance in 0..1 and the sorted topic tags.
func (c *Classifier) Classify(title, summary string) (relevance float64, tags []string) {
	v := builtinVocab()
	var m classifyMatch
	m.field(v, title, titleWeight)
	m.field(v, summary, 1)
	relevance = 1 / (1 + math.Exp(-(m.score()-relevanceBias)*relevanceRate))
	if relevance < tagMinRelevance {
		return relevance, nil
	}
	return relevance, m.tags().strings()
}

// tags picks at most maxTags tags with enough evidence, the strongest first,
// dropping those much weaker than the strongest (a passing mention).
func (m *classifyMatch) tags() tagSet {
	var evidence [16]float64
	best, share := 0.0, m.modifierShare()
	for i := range topicTags {
		evidence[i] = m.anchorTags[i] + m.modifierTags[i]*share
		best = math.Max(best, evidence[i])
	}
	floor := math.Max(tagEvidence, best*tagRelativeEvidence)
	var set tagSet
	for range maxTags {
		pick := -1
		for i, e := range evidence[:len(topicTags)] {
			if e >= floor && set&(1<<i) == 0 && (pick < 0 || e > evidence[pick]) {
				pick = i
			}
		}
		if pick < 0 {
			break
		}
		set |= 1 << pick
	}
	return set
}

// strings returns the tags of s, sorted.
func (s tagSet) strings() []string {
	if s == 0 {
		return nil
	}
	out := make([]string, 0, bitCount(uint16(s)))
	for i, t := range topicTags {
		if s&(1<<i) != 0 {
			out = append(out, t)
		}
	}
	return out
}

func bitCount(x uint16) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

// concept is one entry of the vocabulary.
type concept struct {
	weight   float64
	tags     tagSet
	modifier bool // counts fully only next to an anchor
}

// phraseKey is a form of two or more words, as word IDs padded with noWord.
type phraseKey [maxPhraseLen]int32

const (
	unknownWord int32 = -1 // a token not in the vocabulary
	noWord      int32 = -2 // padding of a phraseKey
)

// vocab is the compiled vocabulary.
type vocab struct {
	words    map[string]int32 // folded word → word ID
	single   []int32          // word ID → concept index of the one-word form, or -1
	starts   []uint8          // word ID → bit n set when a form of n words starts with it
	phrases  map[phraseKey]int32
	concepts []concept
}

// conceptBits is a set of concept indexes.
type conceptBits [8]uint64

const maxConcepts = len(conceptBits{}) * 64

var builtinVocab = sync.OnceValue(func() *vocab {
	v, err := compileVocab(vocabularyTable)
	if err != nil {
		panic(err) // the table is a constant: a test compiles it
	}
	return v
})

// compileVocab parses a table whose lines read "weight | tags | form; form…",
// tags being comma-separated or "-", a weight written "~0.5" marking a
// modifier; blank lines and # comments are skipped.
func compileVocab(table string) (*vocab, error) {
	v := &vocab{words: map[string]int32{}, phrases: map[phraseKey]int32{}}
	seen := map[string]int{}
	for lineNo, line := range strings.Split(table, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, "|")
		if len(fields) != 3 {
			return nil, fmt.Errorf("feeds: vocabulary line %d: want 3 fields", lineNo+1)
		}
		ws, modifier := strings.CutPrefix(strings.TrimSpace(fields[0]), "~")
		w, err := strconv.ParseFloat(ws, 64)
		if err != nil {
			return nil, fmt.Errorf("feeds: vocabulary line %d: %w", lineNo+1, err)
		}
		if modifier && w <= 0 {
			return nil, fmt.Errorf("feeds: vocabulary line %d: a modifier must weigh more than 0", lineNo+1)
		}
		var tags tagSet
		if t := strings.TrimSpace(fields[1]); t != "-" {
			for _, name := range strings.Split(t, ",") {
				bit := tagBit(strings.TrimSpace(name))
				if bit == 0 {
					return nil, fmt.Errorf("feeds: vocabulary line %d: unknown tag %q", lineNo+1, name)
				}
				tags |= bit
			}
		}
		ci := int32(len(v.concepts))
		if int(ci) >= maxConcepts {
			return nil, fmt.Errorf("feeds: vocabulary has more than %d concepts", maxConcepts)
		}
		v.concepts = append(v.concepts, concept{weight: w, tags: tags, modifier: modifier})
		for _, form := range strings.Split(fields[2], ";") {
			if err := v.addForm(strings.TrimSpace(form), ci, seen, lineNo+1); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

func (v *vocab) addForm(form string, ci int32, seen map[string]int, lineNo int) error {
	var key phraseKey
	for i := range key {
		key[i] = noWord
	}
	n := 0
	var tz tokenizer
	tz.reset(form)
	for tz.next() {
		if n == maxPhraseLen {
			return fmt.Errorf("feeds: vocabulary line %d: %q has more than %d words", lineNo, form, maxPhraseLen)
		}
		key[n] = v.wordID(string(tz.token()))
		n++
	}
	if n == 0 {
		return fmt.Errorf("feeds: vocabulary line %d: empty form", lineNo)
	}
	id := fmt.Sprint(key)
	if prev, dup := seen[id]; dup {
		return fmt.Errorf("feeds: vocabulary line %d: %q already on line %d", lineNo, form, prev)
	}
	seen[id] = lineNo
	if n == 1 {
		v.single[key[0]] = ci
		return nil
	}
	v.phrases[key] = ci
	v.starts[key[0]] |= 1 << n
	return nil
}

func (v *vocab) wordID(w string) int32 {
	if id, ok := v.words[w]; ok {
		return id
	}
	id := int32(len(v.single))
	v.words[w] = id
	v.single = append(v.single, -1)
	v.starts = append(v.starts, 0)
	return id
}

// classifyMatch accumulates the matches of one story.
type classifyMatch struct {
	anchor, modifier, negative float64
	// Tag evidence from anchors and from modifiers, by tag bit.
	anchorTags, modifierTags [16]float64
}

// modifierShare is how much the modifiers count in this story.
func (m *classifyMatch) modifierShare() float64 {
	if m.anchor >= anchorMin {
		return 1
	}
	return modifierAlone
}

// score is the raw score the relevance squashes.
func (m *classifyMatch) score() float64 {
	return m.anchor + m.modifier*m.modifierShare() + m.negative
}

// field matches the concepts of one field of text, each counted once with the
// field's weight.
func (m *classifyMatch) field(v *vocab, text string, fieldWeight float64) {
	var seen conceptBits
	var win [maxPhraseLen]int32 // the next words, win[0] first
	n := 0
	var tz tokenizer
	tz.reset(text)
	more := true
	for {
		for more && n < maxPhraseLen {
			if more = tz.next(); more {
				id, ok := v.words[string(tz.token())]
				if !ok {
					id = unknownWord
				}
				win[n] = id
				n++
			}
		}
		if n == 0 {
			return
		}
		used := 1
		if id := win[0]; id != unknownWord {
			ci := v.single[id]
			if starts := v.starts[id]; starts != 0 {
				for l := n; l >= 2; l-- {
					if starts&(1<<l) == 0 {
						continue
					}
					key := phraseKey{noWord, noWord, noWord, noWord}
					copy(key[:l], win[:l])
					if c, ok := v.phrases[key]; ok {
						ci, used = c, l
						break
					}
				}
			}
			if ci >= 0 && seen[ci/64]&(1<<(ci%64)) == 0 {
				seen[ci/64] |= 1 << (ci % 64)
				m.add(v.concepts[ci], fieldWeight)
			}
		}
		copy(win[:], win[used:n])
		n -= used
	}
}

func (m *classifyMatch) add(c concept, fieldWeight float64) {
	w := c.weight * fieldWeight
	byTag := &m.anchorTags
	switch {
	case w < 0:
		m.negative += w
		return
	case c.modifier:
		m.modifier += w
		byTag = &m.modifierTags
	default:
		m.anchor += w
	}
	evidence := fieldWeight * math.Min(c.weight, 1)
	for i := range topicTags {
		if c.tags&(1<<i) != 0 {
			byTag[i] += evidence
		}
	}
}
