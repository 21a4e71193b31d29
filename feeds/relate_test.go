package feeds

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var relBase = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// labelledStories turns the labelled rows into stored stories: IDs from 1,
// six sources in turn, an hour apart, tagged by the classifier.
func labelledStories(t testing.TB) []Story {
	t.Helper()
	c := NewClassifier()
	rows := loadLabelled(t)
	stories := make([]Story, len(rows))
	for i, row := range rows {
		rel, tags := c.Classify(row.title, row.summary)
		stories[i] = Story{
			ID: int64(i + 1), SourceID: int64(i%6 + 1),
			Title: row.title, Summary: row.summary,
			PublishedAt: relBase.Add(time.Duration(i) * time.Hour),
			Relevance:   rel, Tags: tags, Visible: rel >= c.Threshold,
		}
	}
	return stories
}

func storyByTitle(t *testing.T, stories []Story, prefix string) Story {
	t.Helper()
	for _, st := range stories {
		if strings.HasPrefix(st.Title, prefix) {
			return st
		}
	}
	t.Fatalf("no labelled story titled %q…", prefix)
	return Story{}
}

func TestRelaterSeedSimilar(t *testing.T) {
	stories := labelledStories(t)
	r := NewRelater(0)
	for _, st := range stories {
		r.Add(st)
	}
	byID := map[int64]Story{}
	for _, st := range stories {
		byID[st.ID] = st
	}
	seed := storyByTitle(t, stories, "WhatsApp Boss Clashes with Elon Musk")
	similar := r.Similar(seed, 5)
	for _, s := range similar {
		t.Logf("%.3f %v %q", s.Score, byID[s.ID].Tags, byID[s.ID].Title)
	}
	if len(similar) != 5 {
		t.Fatalf("Similar returned %d stories, want 5", len(similar))
	}
	ids := make([]int64, len(similar))
	for i, s := range similar {
		ids[i] = s.ID
		if s.ID == seed.ID {
			t.Errorf("the seed story is similar to itself")
		}
		if i > 0 && s.Score > similar[i-1].Score {
			t.Errorf("results not ordered by score: %v", similar)
		}
		text := strings.ToLower(byID[s.ID].Title + " " + byID[s.ID].Summary)
		if !strings.Contains(text, "whatsapp") && !strings.Contains(text, "metadata") && !strings.Contains(text, "encrypt") {
			t.Errorf("%q is not a WhatsApp, metadata or encryption story", byID[s.ID].Title)
		}
	}
	for _, want := range []string{
		"WhatsApp Metadata Can Reveal Who You Talk To",
		"WhatsApp to Encrypt Chat Backups by Default",
		"X Rolls Out Encrypted Direct Messages, but Metadata Stays Visible",
	} {
		if !slices.Contains(ids, storyByTitle(t, stories, want).ID) {
			t.Errorf("Similar Posts lack %q", want)
		}
	}
	// A chip launch shares no topic with the seed: it must not be listed at
	// all, however long the list.
	chip := storyByTitle(t, stories, "Nvidia Unveils Next-Generation AI Chip")
	for _, s := range r.Similar(seed, 100) {
		if s.ID == chip.ID {
			t.Errorf("chip launch listed with score %.3f", s.Score)
		}
		if s.Score < SimilarFloor {
			t.Errorf("score %.3f below the floor", s.Score)
		}
	}
	if got := r.Similar(chip, 5); slices.ContainsFunc(got, func(x Related) bool { return x.ID == seed.ID }) {
		t.Errorf("the seed story is similar to a chip launch: %v", got)
	}
}

func TestRelaterExcludesOwnCluster(t *testing.T) {
	r := NewRelater(10)
	text := func(id, cluster, source int64) Story {
		return Story{
			ID: id, ClusterID: cluster, SourceID: source, PublishedAt: relBase,
			Title:   "Regulator fines messaging app over encryption backdoor",
			Summary: "The data protection authority said the backdoor exposed users' chats.",
		}
	}
	r.Add(text(1, 0, 1)) // leader
	r.Add(text(2, 1, 2)) // same cluster
	r.Add(text(3, 1, 3)) // same cluster
	r.Add(text(4, 0, 4)) // another cluster
	ids := func(rs []Related) []int64 {
		var out []int64
		for _, x := range rs {
			out = append(out, x.ID)
		}
		return out
	}
	if got := ids(r.Similar(text(1, 0, 1), 5)); !slices.Equal(got, []int64{4}) {
		t.Errorf("Similar(leader) = %v, want [4]", got)
	}
	if got := ids(r.Similar(text(2, 1, 2), 5)); !slices.Equal(got, []int64{4}) {
		t.Errorf("Similar(member) = %v, want [4]", got)
	}
	if got := ids(r.Similar(text(4, 0, 4), 5)); !slices.Equal(got, []int64{3, 2, 1}) {
		t.Errorf("Similar(other) = %v, want [3 2 1] (equal scores: newest first)", got)
	}
	if got := r.Similar(text(4, 0, 4), 0); got != nil {
		t.Errorf("Similar(k=0) = %v", got)
	}
	if got := r.Similar(Story{ID: 9, Title: "the of and"}, 5); got != nil {
		t.Errorf("Similar(stop words only) = %v", got)
	}
}

// clusterPairs are the hand-written calibration cases: the same event told by
// two outlets (same), and two different stories about one company or topic.
var clusterPairs = []struct {
	name string
	a, b [2]string // title, summary
	same bool
}{
	{"fine, two outlets",
		[2]string{"Irish Regulator Fines Vidgo €530 Million Over Data Transfers to China",
			"The Data Protection Commission said the video app failed to guarantee that European users' data sent to China was safe from access by authorities."},
		[2]string{"Vidgo Hit With €530m GDPR Fine for Sending European Data to China",
			"Ireland's data protection regulator ordered the video app to suspend transfers of EU users' personal data to China within six months."},
		true},
	{"breach, two outlets",
		[2]string{"Hackers Stole Call Records of Nearly All Northwire Customers",
			"Northwire said attackers downloaded six months of call and text logs from a third-party cloud platform, though not the contents of calls."},
		[2]string{"Northwire Says Breach Exposed Call and Text Logs of Almost Every Customer",
			"The carrier said records of calls and texts made over six months by nearly all of its customers were taken from a cloud workspace."},
		true},
	{"encryption pulled, two outlets",
		[2]string{"Apple Withdraws Advanced Data Protection in the UK After Government Demand",
			"British users can no longer turn on end-to-end encryption for iCloud backups after the Home Office sought access to encrypted data."},
		[2]string{"UK Users Lose Apple's Encrypted iCloud Backups Over Home Office Order",
			"Apple has stopped offering Advanced Data Protection to new users in Britain rather than build the access to encrypted data the government demanded."},
		true},
	{"spyware verdict, two outlets",
		[2]string{"Jury Orders Spyware Maker to Pay WhatsApp $168 Million",
			"A US jury found the spyware vendor liable for hacking about 1,400 WhatsApp users through a flaw in the app's calling feature."},
		[2]string{"WhatsApp Wins $168m Verdict Against Spyware Vendor",
			"Jurors decided the company behind the spyware must pay damages for exploiting WhatsApp to install surveillance software on 1,400 phones."},
		true},
	{"age-check law, two outlets",
		[2]string{"Utah Passes Law Requiring App Stores to Verify Users' Ages",
			"The law, signed on Tuesday, makes app store operators confirm each user's age and get parental consent before minors can download apps."},
		[2]string{"App Stores Must Check Ages Under New Utah Law",
			"The governor signed a bill forcing Apple and Google to verify how old users are and to ask parents before children download apps."},
		true},
	{"broker order, two outlets",
		[2]string{"FTC Bars Geomark From Selling Americans' Location Data",
			"The settlement forbids the data broker from selling information that reveals visits to medical clinics, churches and shelters."},
		[2]string{"Data Broker Geomark Agrees to Stop Selling Sensitive Location Data in FTC Deal",
			"Under the order, the company may no longer sell location records tied to health clinics, places of worship or domestic violence shelters."},
		true},
	{"chip launch, two outlets",
		[2]string{"Nvidia Unveils Blackwell Ultra GPUs for AI Data Centres",
			"The new chips offer 50 percent more memory and ship in the second half of the year."},
		[2]string{"Nvidia Announces Blackwell Ultra With More Memory for AI Servers",
			"Nvidia's next accelerator adds memory capacity and arrives later this year, the chipmaker said at its developer conference."},
		true},
	{"same broker, different stories",
		[2]string{"FTC Bars Geomark From Selling Americans' Location Data",
			"The settlement forbids the data broker from selling information that reveals visits to medical clinics, churches and shelters."},
		[2]string{"Geomark Raises $40 Million to Expand Into Europe",
			"The location analytics company will open offices in Berlin and Paris, its chief executive said."},
		false},
	{"same topic as the age-check law, another event",
		[2]string{"Utah Passes Law Requiring App Stores to Verify Users' Ages",
			"The law, signed on Tuesday, makes app store operators confirm each user's age and get parental consent before minors can download apps."},
		[2]string{"Australia Bans Social Media Accounts for Under-16s",
			"Platforms face fines of up to A$50 million if they fail to keep younger teenagers off their services."},
		false},
	{"same chipmaker, different stories",
		[2]string{"Nvidia Unveils Blackwell Ultra GPUs for AI Data Centres",
			"The new chips offer 50 percent more memory and ship in the second half of the year."},
		[2]string{"Nvidia Shares Fall After New Export Curbs on China",
			"The chipmaker said the rules would cut its data centre revenue by several billion dollars this year."},
		false},
	{"same company, different stories",
		[2]string{"Irish Regulator Fines Vidgo €530 Million Over Data Transfers to China",
			"The Data Protection Commission said the video app failed to guarantee that European users' data sent to China was safe from access by authorities."},
		[2]string{"Vidgo Launches Hour-Long Videos to Take On YouTube",
			"Creators on the video app can now upload clips of up to 60 minutes, the company said."},
		false},
	{"same carrier, different stories",
		[2]string{"Hackers Stole Call Records of Nearly All Northwire Customers",
			"Northwire said attackers downloaded six months of call and text logs from a third-party cloud platform, though not the contents of calls."},
		[2]string{"Northwire Raises Prices on Older Unlimited Plans",
			"Customers on plans the carrier no longer sells will pay $5 more a month from June."},
		false},
	{"same company and topic, different events",
		[2]string{"Jury Orders Spyware Maker to Pay WhatsApp $168 Million",
			"A US jury found the spyware vendor liable for hacking about 1,400 WhatsApp users through a flaw in the app's calling feature."},
		[2]string{"WhatsApp Adds Usernames to Hide Phone Numbers",
			"People will be able to chat on WhatsApp without sharing their phone number with strangers, the company said."},
		false},
	{"same topic, different events",
		[2]string{"Apple Withdraws Advanced Data Protection in the UK After Government Demand",
			"British users can no longer turn on end-to-end encryption for iCloud backups after the Home Office sought access to encrypted data."},
		[2]string{"Google Messages Turns On End-to-End Encryption for Group Chats",
			"RCS group conversations between Android users are now encrypted by default, closing a gap that left group texts readable on the server."},
		false},
}

func TestRelaterCluster(t *testing.T) {
	// The labelled stories give the index realistic document frequencies;
	// they are dated weeks earlier, out of the clustering window.
	background := labelledStories(t)
	for i := range background {
		background[i].PublishedAt = background[i].PublishedAt.Add(-60 * 24 * time.Hour)
	}
	for i, pc := range clusterPairs {
		r := NewRelater(0)
		for _, st := range background {
			r.Add(st)
		}
		id := int64(10000 + 2*i)
		a := Story{ID: id, SourceID: 100, Title: pc.a[0], Summary: pc.a[1], PublishedAt: relBase}
		b := Story{SourceID: 200, Title: pc.b[0], Summary: pc.b[1], PublishedAt: relBase.Add(30 * time.Hour)}
		r.Add(a)
		cosine := relCosine(r, b, a.ID)
		got := r.Cluster(b)
		t.Logf("%-48s cosine %.3f cluster %d", pc.name, cosine, got)
		if want := map[bool]int64{true: a.ID, false: 0}[pc.same]; got != want {
			t.Errorf("%s: Cluster = %d, want %d (cosine %.3f, threshold %.2f)", pc.name, got, want, cosine, ClusterThreshold)
		}
		if !pc.same {
			continue
		}
		// Same source, or too far apart in time: no cluster.
		if got := r.Cluster(Story{SourceID: 100, Title: pc.b[0], Summary: pc.b[1], PublishedAt: b.PublishedAt}); got != 0 {
			t.Errorf("%s: clustered with a story of its own source", pc.name)
		}
		if got := r.Cluster(Story{SourceID: 200, Title: pc.b[0], Summary: pc.b[1], PublishedAt: relBase.Add(-4 * 24 * time.Hour)}); got != 0 {
			t.Errorf("%s: clustered across four days", pc.name)
		}
		// A member of a cluster leads to the cluster's leader.
		r.Add(Story{ID: id + 1, SourceID: 300, ClusterID: 77, Title: pc.b[0], Summary: pc.b[1], PublishedAt: b.PublishedAt})
		if got := r.Cluster(Story{SourceID: 400, Title: pc.b[0], Summary: pc.b[1], PublishedAt: b.PublishedAt}); got != 77 {
			t.Errorf("%s: Cluster = %d, want the member's leader 77", pc.name, got)
		}
	}
}

// relCosine is the cosine between st and the indexed story id.
func relCosine(r *Relater, st Story, id int64) float64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s := r.getScratch()
	defer r.putScratch(s)
	qNorm := r.query(st, s)
	slot := uint32(r.byID[id] % uint64(r.max))
	dn := r.norm(slot, r.normBase())
	if qNorm == 0 || dn == 0 {
		return 0
	}
	return s.dot[slot] / (qNorm * dn)
}

// checkRelater recomputes df, the term table and every story's norm sums
// from the live stories and compares them with the index's.
func checkRelater(t *testing.T, r *Relater) {
	t.Helper()
	r.mu.RLock()
	defer r.mu.RUnlock()
	df := map[int32]int32{}
	for seq := r.first; seq < r.next; seq++ {
		d := &r.docs[seq%uint64(r.max)]
		for _, rt := range d.terms {
			df[rt.term]++
		}
	}
	if len(r.terms) != len(df) {
		t.Errorf("%d terms indexed, %d held by live stories", len(r.terms), len(df))
	}
	for word, term := range r.terms {
		if r.df[term] != df[term] || r.termWords[term] != word || len(r.postings[term]) != int(df[term]) {
			t.Errorf("term %q: df %d postings %d, want %d", word, r.df[term], len(r.postings[term]), df[term])
		}
	}
	for seq := r.first; seq < r.next; seq++ {
		d := &r.docs[seq%uint64(r.max)]
		var s0, s1, s2 float64
		for _, rt := range d.terms {
			g := math.Log(float64(df[rt.term]))
			tf2 := float64(rt.tf) * float64(rt.tf)
			s0, s1, s2 = s0+tf2, s1+tf2*g, s2+tf2*g*g
		}
		if math.Abs(s0-d.s0) > 1e-6 || math.Abs(s1-d.s1) > 1e-6*max(1, s1) || math.Abs(s2-d.s2) > 1e-6*max(1, s2) {
			t.Errorf("story %d: sums %v %v %v, want %v %v %v", d.id, d.s0, d.s1, d.s2, s0, s1, s2)
		}
	}
}

func TestRelaterBoundedEviction(t *testing.T) {
	stories := labelledStories(t)
	const size = 50
	r := NewRelater(size)
	for i, st := range stories {
		r.Add(st)
		r.Add(st) // a second Add of one ID is ignored
		if want := min(i+1, size); r.Len() != want {
			t.Fatalf("after %d adds: Len %d, want %d", i+1, r.Len(), want)
		}
	}
	checkRelater(t, r)
	live := map[int64]bool{}
	for _, st := range stories[len(stories)-size:] {
		live[st.ID] = true
	}
	for _, st := range stories {
		for _, s := range r.Similar(st, size) {
			if !live[s.ID] {
				t.Fatalf("Similar returned evicted story %d", s.ID)
			}
		}
	}
	// An evicted story can be added again, and every term can leave.
	r.Add(stories[0])
	checkRelater(t, r)
	for i := range size {
		r.Add(Story{ID: int64(100000 + i), Title: fmt.Sprintf("zz%d yy%d", i, i%3)})
	}
	checkRelater(t, r)
	if len(r.terms) != size+3 {
		t.Errorf("%d terms left, want %d", len(r.terms), size+3)
	}
}

func TestRelaterConcurrent(t *testing.T) {
	stories := labelledStories(t)
	r := NewRelater(100)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(stories); i += 4 {
				r.Add(stories[i])
				r.Similar(stories[(i*7)%len(stories)], 5)
				r.Cluster(stories[(i*11)%len(stories)])
			}
		}()
	}
	wg.Wait()
	if r.Len() != 100 {
		t.Errorf("Len %d, want 100", r.Len())
	}
	checkRelater(t, r)
}

// benchRelater indexes n distinct stories made by pairing labelled titles
// with other rows' summaries.
func benchRelater(b *testing.B, n int) (*Relater, []Story) {
	stories := labelledStories(b)
	r := NewRelater(n)
	var made []Story
	for i := range n {
		st := stories[i%len(stories)]
		st.ID = int64(i + 1)
		st.Summary = stories[(i*7+3)%len(stories)].Summary
		r.Add(st)
		made = append(made, st)
	}
	return r, made
}

func BenchmarkRelaterSimilar(b *testing.B) {
	r, stories := benchRelater(b, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Similar(stories[(i*31)%len(stories)], 5)
	}
}

func BenchmarkRelaterCluster(b *testing.B) {
	r, stories := benchRelater(b, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.Cluster(stories[(i*31)%len(stories)])
	}
}

func BenchmarkRelaterAdd(b *testing.B) {
	r, stories := benchRelater(b, 5000)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st := stories[i%len(stories)]
		st.ID = int64(10000 + i) // new ID: evicts the oldest
		r.Add(st)
	}
}

func TestSimilarToMatchesSimilar(t *testing.T) {
	r := NewRelater(50)
	now := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	texts := [][2]string{
		{"Messaging app encryption keeps chats private", "End-to-end encryption protects messages, but metadata about contacts is still kept."},
		{"Why message metadata reveals who you talk to", "Metadata about who you message and when can be handed to police even with encryption."},
		{"Encrypted backups arrive for phones", "Backups of messages will be encrypted with a key only the user holds."},
		{"Chipmaker posts record revenue", "Server orders lifted quarterly sales."},
	}
	var stories []Story
	for i, tx := range texts {
		st := Story{ID: int64(i + 1), SourceID: int64(i + 1), Title: tx[0], Summary: tx[1], PublishedAt: now}
		r.Add(st)
		stories = append(stories, st)
	}
	for _, st := range stories {
		got, ok := r.SimilarTo(st.ID, 5)
		if !ok {
			t.Fatalf("SimilarTo(%d): not indexed", st.ID)
		}
		if want := r.Similar(st, 5); !slices.Equal(got, want) {
			t.Errorf("SimilarTo(%d) = %v, Similar = %v", st.ID, got, want)
		}
	}
	if got, _ := r.SimilarTo(1, 5); len(got) == 0 || got[0].ID != 2 {
		t.Errorf("SimilarTo(1) = %v, want the metadata story first", got)
	}
	if _, ok := r.SimilarTo(999, 5); ok {
		t.Error("SimilarTo of an unknown story reports it indexed")
	}
}
