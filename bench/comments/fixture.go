package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
)

// fillStories stores n visible stories from a few outlets, each with a
// Similar Posts list of five, and returns their IDs, oldest first.
func fillStories(ctx context.Context, st feeds.Store, n int) ([]int64, error) {
	var srcIDs []int64
	for _, name := range outlets {
		slug := strings.ToLower(strings.ReplaceAll(name, " ", ""))
		src, err := st.AddSource(ctx, feeds.Source{
			URL: "https://" + slug + ".example/feed.xml", Title: name, SiteURL: "https://" + slug + ".example/",
		})
		if err != nil {
			return nil, err
		}
		srcIDs = append(srcIDs, src.ID)
	}
	base := time.Now().UTC().Add(-time.Duration(n) * time.Hour)
	ids := make([]int64, 0, n)
	for i := range n {
		title := fmt.Sprintf("%s %s %s", subjects[i%len(subjects)], verbs[i%len(verbs)], objects[(i*7)%len(objects)])
		s, _, err := st.AddStory(ctx, feeds.Story{
			SourceID: srcIDs[i%len(srcIDs)], GUID: fmt.Sprintf("bench-comments:%d", i),
			URL:   fmt.Sprintf("https://%s.example/2026/story-%d", strings.ToLower(strings.ReplaceAll(outlets[i%len(outlets)], " ", "")), i),
			Title: title,
			Summary: title + ", according to documents seen by reporters. The company said it takes privacy " +
				"seriously; researchers and regulators were not convinced, and a hearing is expected next month.",
			Author: "Staff", PublishedAt: base.Add(time.Duration(i) * time.Hour), FirstSeenAt: base,
			Relevance: 0.7, Visible: true, Tags: tagSets[i%len(tagSets)],
		})
		if err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	lists := map[int64][]feeds.Related{}
	for i, id := range ids {
		var rel []feeds.Related
		for k := 1; k <= 5; k++ {
			rel = append(rel, feeds.Related{ID: ids[(i+k*7)%len(ids)], Score: 0.6 - 0.05*float64(k)})
		}
		lists[id] = rel
	}
	return ids, st.SetSimilarMany(ctx, lists)
}

// seedThread stores n approved comments under story through svc, whose
// clock is stepped (see seedClock) so they span the last days: about 30%
// top-level, 45% replies and 25% replies to replies, from a pool of
// returning commenters, bodies of 1–4 short paragraphs, about one in five
// with a link. It returns the IDs of the comments and how many there are
// at each depth (index 1 to MaxDepth).
func seedThread(ctx context.Context, svc *comments.Service, clock *seedClock, story int64, n int) (all []int64, depths [comments.MaxDepth + 1]int, err error) {
	rng := rand.New(rand.NewPCG(1, 2))
	kinds := make([]int, n) // 0 top level, 1 reply, 2 reply to a reply
	for i := range kinds {
		switch {
		case i < n*30/100:
			kinds[i] = 0
		case i < n*75/100:
			kinds[i] = 1
		default:
			kinds[i] = 2
		}
	}
	rng.Shuffle(len(kinds)-1, func(i, j int) { kinds[i+1], kinds[j+1] = kinds[j+1], kinds[i+1] })
	kinds[0] = 0
	var depth1, depth2 []int64
	for i, kind := range kinds {
		parent := int64(0)
		switch {
		case kind == 2 && len(depth2) > 0:
			parent = depth2[rng.IntN(len(depth2))]
		case kind >= 1 && len(depth1) > 0:
			parent = depth1[rng.IntN(len(depth1))]
		}
		a := commenters[rng.IntN(len(commenters))]
		if i < len(commenters) {
			a = commenters[i] // every one of them comes back approved
		}
		clock.step(time.Duration(10+rng.IntN(20)) * time.Minute)
		c, err := svc.Submit(ctx, comments.Submission{
			StoryID: story, ParentID: parent, Author: a.name, Email: a.email, Website: a.site,
			Body: commentBody(rng), FormTime: clock.Now().Add(-2 * time.Minute),
			IP: fmt.Sprintf("198.51.%d.%d", 100+i/250, i%250+1),
		})
		if err != nil {
			return nil, depths, fmt.Errorf("comment %d: %w", i, err)
		}
		if c.Status != comments.Approved {
			if c, err = svc.Approve(ctx, c.ID); err != nil {
				return nil, depths, err
			}
		}
		all = append(all, c.ID)
		depths[c.Depth]++
		switch c.Depth {
		case 1:
			depth1 = append(depth1, c.ID)
		case 2:
			depth2 = append(depth2, c.ID)
		}
	}
	return all, depths, nil
}

// commentBody makes 1–4 short paragraphs, one time in five with a link.
func commentBody(rng *rand.Rand) string {
	paras := make([]string, 1+rng.IntN(4))
	for i := range paras {
		sents := make([]string, 1+rng.IntN(3))
		for j := range sents {
			sents[j] = sentences[rng.IntN(len(sentences))]
		}
		paras[i] = strings.Join(sents, " ")
	}
	if rng.IntN(5) == 0 {
		p := rng.IntN(len(paras))
		paras[p] += " See " + links[rng.IntN(len(links))] + " for the details."
	}
	return strings.Join(paras, "\n\n")
}

// seedClock is the clock of the service that seeds the thread: it starts
// three days ago and is stepped forward for each comment.
type seedClock struct{ t time.Time }

func (c *seedClock) Now() time.Time       { return c.t }
func (c *seedClock) step(d time.Duration) { c.t = c.t.Add(d) }

type commenter struct{ name, email, site string }

var commenters = func() []commenter {
	names := []string{
		"Ada Lindqvist", "Ben Ortiz", "Chloé Martin", "Dmitri Volkov", "Eitan Shapiro", "Fatima Rahman",
		"Gus", "Hana Sato", "Ines Duarte", "Jonas Weber", "Kofi Mensah", "Lena Fischer", "Marco Rossi",
		"Nadia K.", "Oliver Grant", "Priya Nair", "quietreader", "Rosa Jiménez", "Sam Taylor", "Tomás Novák",
		"Uma Patel", "Victor Hugo Lee", "Wen Zhou", "Xavier Dupont", "Yara Haddad", "Zoe Brooks",
		"privacy_nerd", "J. Smith", "Anonymous Coward", "Helga", "Pieter de Vries", "Mei Lin",
	}
	out := make([]commenter, len(names))
	for i, n := range names {
		out[i] = commenter{name: n, email: fmt.Sprintf("reader%d@mail%d.example.org", i, i%5)}
		if i%3 == 0 {
			out[i].site = fmt.Sprintf("https://blog%d.example.net/", i)
		}
	}
	return out
}()

var (
	outlets  = []string{"Byteline", "Night Watch", "Rights Wire", "Packet Post", "The Ledger", "Signal Hill"}
	subjects = []string{"WhatsApp", "A Health App Maker", "The EU Commission", "Google", "Apple", "A Data Broker", "Meta", "The FTC", "Signal", "Mozilla"}
	verbs    = []string{"Faces Questions Over", "Is Fined for", "Quietly Changes", "Defends", "Pauses", "Is Sued Over", "Expands"}
	objects  = []string{
		"Location Data Sales", "End-to-End Encryption Backups", "Facial Recognition at Stations",
		"Message Metadata Retention", "Children's Data Collection", "Ad Tracking in Health Apps",
		"Client-Side Scanning", "Biometric Logins", "Cookie Consent Banners",
	}
	tagSets = [][]string{
		{"encryption", "messaging"}, {"health-data", "tracking"}, {"regulation", "gdpr"},
		{"surveillance", "biometrics"}, {"data-breach"}, {"tracking", "advertising"},
	}
	sentences = []string{
		"This is exactly what people warned about when the feature launched.",
		"I switched to a different app last year for this reason.",
		"Does anyone know whether the EU version behaves differently?",
		"The fine sounds large until you compare it with their quarterly revenue.",
		"Metadata is data, and often the most revealing part.",
		"Good to see a regulator actually reading the privacy policy.",
		"My employer requires this app, so opting out isn't really an option.",
		"They said the same thing in 2019 & nothing changed.",
		"I'd like to see the full report before drawing conclusions.",
		"End-to-end encryption only helps if the backups are encrypted too.",
		"Turning it off took me eleven taps, which can't be an accident.",
		"The article buries the most important part in the last paragraph.",
		"Honestly, \"we take privacy seriously\" has become a warning sign.",
		"Hard to consent to something you can't find in the settings.",
		"Would a local-only mode really cost them that much?",
		"Thanks for the summary, this was useful.",
		"Not convinced: the researchers tested an old version.",
		"Children's data deserves far stricter rules than this.",
	}
	links = []string{
		"https://www.eff.org/issues/privacy", "http://example.org/report.pdf",
		"https://noyb.eu/en/project/decisions", "https://en.wikipedia.org/wiki/Metadata",
		"https://edpb.europa.eu/news/news_en",
	}
)
