package feeds

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// labelledRow is one row of testdata/labelled/headlines.tsv.
type labelledRow struct {
	line    int
	onTopic bool
	heldout bool
	tag     string // expected main tag, "" for off-topic rows
	title   string
	summary string
}

func loadLabelled(t testing.TB) []labelledRow {
	t.Helper()
	f, err := os.Open("testdata/labelled/headlines.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []labelledRow
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		cols := strings.Split(text, "\t")
		if len(cols) != 5 {
			t.Fatalf("headlines.tsv:%d: %d columns, want 5", line, len(cols))
		}
		r := labelledRow{line: line, title: cols[3], summary: cols[4]}
		switch cols[0] {
		case "1":
			r.onTopic = true
		case "0":
		default:
			t.Fatalf("headlines.tsv:%d: label %q", line, cols[0])
		}
		switch cols[1] {
		case "heldout":
			r.heldout = true
		case "dev":
		default:
			t.Fatalf("headlines.tsv:%d: split %q", line, cols[1])
		}
		if r.onTopic {
			if tagBit(cols[2]) == 0 {
				t.Fatalf("headlines.tsv:%d: unknown tag %q", line, cols[2])
			}
			r.tag = cols[2]
		} else if cols[2] != "-" {
			t.Fatalf("headlines.tsv:%d: off-topic row with tag %q", line, cols[2])
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// confusion counts a classifier's outcomes on labelled rows.
type confusion struct{ tp, fp, fn, tn, tagHits int }

func (c confusion) precision() float64 { return ratio(c.tp, c.tp+c.fp) }
func (c confusion) recall() float64    { return ratio(c.tp, c.tp+c.fn) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func TestClassifierLabelled(t *testing.T) {
	rows := loadLabelled(t)
	c := NewClassifier()
	var all, dev, held confusion
	var onTopic int
	for _, r := range rows {
		rel, tags := c.Classify(r.title, r.summary)
		shown := rel >= c.Threshold
		split := "dev"
		if r.heldout {
			split = "heldout"
		}
		for _, cf := range []*confusion{&all, map[bool]*confusion{false: &dev, true: &held}[r.heldout]} {
			switch {
			case shown && r.onTopic:
				cf.tp++
				if slices.Contains(tags, r.tag) {
					cf.tagHits++
				}
			case shown:
				cf.fp++
			case r.onTopic:
				cf.fn++
			default:
				cf.tn++
			}
		}
		if r.onTopic {
			onTopic++
		}
		switch {
		case shown != r.onTopic:
			t.Logf("misclassified %s line %d (want %v): %.2f %v %q", split, r.line, r.onTopic, rel, tags, r.title)
		case shown && !slices.Contains(tags, r.tag):
			t.Logf("tag missed %s line %d (want %s): %.2f %v %q", split, r.line, r.tag, rel, tags, r.title)
		}
	}
	if len(rows) < 240 || onTopic*2 != len(rows) {
		t.Errorf("labelled set: %d rows, %d on-topic; want at least 240, half on-topic", len(rows), onTopic)
	}
	for _, s := range []struct {
		name string
		c    confusion
	}{{"all", all}, {"dev", dev}, {"heldout", held}} {
		t.Logf("%-7s precision %.3f recall %.3f (tp %d fp %d fn %d tn %d); main tag given for %d of %d found",
			s.name, s.c.precision(), s.c.recall(), s.c.tp, s.c.fp, s.c.fn, s.c.tn, s.c.tagHits, s.c.tp)
	}
	if all.precision() < 0.9 || all.recall() < 0.85 {
		t.Errorf("precision %.3f recall %.3f; want at least 0.9 and 0.85", all.precision(), all.recall())
	}
	if ratio(all.tagHits, all.tp) < 0.8 {
		t.Errorf("main tag given for %d of %d found stories; want 80%%", all.tagHits, all.tp)
	}
}

func TestVocabularyCompiles(t *testing.T) {
	v, err := compileVocab(vocabularyTable)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d concepts, %d words, %d phrases", len(v.concepts), len(v.words), len(v.phrases))
	for _, bad := range []string{
		"1 | - ",                           // two fields
		"x | - | privacy",                  // weight
		"1 | nope | privacy",               // tag
		"1 | - | a b c d e",                // too long
		"1 | - | privacy\n2 | - | Privacy", // duplicate after folding
	} {
		if _, err := compileVocab(bad); err == nil {
			t.Errorf("compileVocab(%q) succeeded", bad)
		}
	}
}

func TestClassifyTags(t *testing.T) {
	c := NewClassifier()
	for _, tc := range []struct {
		title, summary string
		want           []string // must all be present
	}{
		{"WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims",
			"WhatsApp's head said messages stay end-to-end encrypted, while critics said the app still collects metadata about who users talk to.",
			[]string{"encryption", "messaging", "metadata"}},
		{"Hospital Breach Exposed Medical Records of 2 Million Patients",
			"Names, Social Security numbers and diagnoses were stolen in the data breach.",
			[]string{"data-breach", "health-data"}},
		{"Regulator Fines Retailer Under GDPR for Facial Recognition Cameras",
			"The data protection authority said scanning shoppers' faces without consent broke the law.",
			[]string{"biometrics", "regulation"}},
		{"Spyware Found on Activists' Phones After Zero-Click Attack",
			"Researchers linked the infection to a commercial surveillance vendor.",
			[]string{"spyware"}},
		{"Data Broker Sold Location Data of Clinic Visitors",
			"Ad-derived location data revealed visits to health clinics.",
			[]string{"location", "tracking"}},
	} {
		rel, tags := c.Classify(tc.title, tc.summary)
		if rel < c.Threshold {
			t.Errorf("%q: relevance %.2f below threshold", tc.title, rel)
		}
		for _, w := range tc.want {
			if !slices.Contains(tags, w) {
				t.Errorf("%q: tags %v lack %q", tc.title, tags, w)
			}
		}
	}
	if rel, tags := c.Classify("Nvidia Unveils Faster Chip for Gamers", "The graphics card ships next month."); rel >= 0.2 || tags != nil {
		t.Errorf("chip launch: relevance %.2f tags %v", rel, tags)
	}
}

func TestClassifyDeterministic(t *testing.T) {
	c := NewClassifier()
	for _, r := range loadLabelled(t)[:20] {
		a, at := c.Classify(r.title, r.summary)
		b, bt := c.Classify(r.title, r.summary)
		if a != b || !slices.Equal(at, bt) {
			t.Fatalf("line %d: %v %v then %v %v", r.line, a, at, b, bt)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add("WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims", "end-to-end encrypted; metadata")
	f.Add("Private equity buys data centre", "Security Council")
	f.Add("", "")
	f.Add("privacy privacy privacy", "\xff\xfe’s don't'")
	c := NewClassifier()
	f.Fuzz(func(t *testing.T, title, summary string) {
		rel, tags := c.Classify(title, summary)
		if !(rel >= 0 && rel <= 1) {
			t.Fatalf("relevance %v", rel)
		}
		if !slices.IsSorted(tags) {
			t.Fatalf("tags not sorted: %v", tags)
		}
		for _, tag := range tags {
			if !slices.Contains(TopicTags(), tag) {
				t.Fatalf("unknown tag %q", tag)
			}
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	rows := loadLabelled(b)
	c := NewClassifier()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := rows[i%len(rows)]
		c.Classify(r.title, r.summary)
	}
}
