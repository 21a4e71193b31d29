package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/tidings/tidings/bench/internal/corpus"
	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

// site is what the load generator knows of the store it filled: the IDs
// to ask for, the tags, and the commenters whose comments are published at
// once.
type site struct {
	stories   []int64
	sources   []int64
	tags      []string
	returning []commenter
}

// commenter is a name and address that has an approved comment.
type commenter struct{ name, email string }

// prepare fills the store at storeURL with n stories from a dozen outlets
// (Similar Posts lists of five, clusters of three) and one approved
// comment by each of a few returning commenters, written with keys, the
// key serve is then given; it closes the store before returning, so serve
// is its only user.
func prepare(ctx context.Context, storeURL, dir string, keys *secrets.Keys, n int) (site, error) {
	var s site
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return s, err
	}
	defer st.Close()
	for _, name := range outlets {
		slug := strings.ToLower(strings.ReplaceAll(name, " ", ""))
		src, err := st.AddSource(ctx, feeds.Source{
			URL: "https://" + slug + ".example/feed.xml", Title: name, SiteURL: "https://" + slug + ".example/",
		})
		if err != nil {
			return s, err
		}
		s.sources = append(s.sources, src.ID)
	}
	base := time.Now().UTC().Add(-time.Duration(n) * time.Hour)
	var leader int64
	for i := range n {
		subject, verb, object := subjects[i%len(subjects)], verbs[(i/len(subjects))%len(verbs)], objects[(i*7)%len(objects)]
		title := subject + " " + verb + " " + object
		cluster := int64(0)
		if i%10 == 1 || i%10 == 2 {
			cluster = leader
		}
		story, _, err := st.AddStory(ctx, feeds.Story{
			SourceID: s.sources[i%len(s.sources)], GUID: fmt.Sprintf("soak:%d", i),
			URL:   fmt.Sprintf("https://outlet%d.example/2026/story-%d", i%len(outlets), i),
			Title: title,
			Summary: fmt.Sprintf("%s %s %s, according to documents seen by reporters. %s Researchers and "+
				"regulators were not convinced, and a hearing is expected next month.", subject, verb, object, details[i%len(details)]),
			Author: "Staff", PublishedAt: base.Add(time.Duration(i) * time.Hour), FirstSeenAt: base,
			Relevance: 0.7, Visible: true, Tags: tagSets[i%len(tagSets)], ClusterID: cluster,
		})
		if err != nil {
			return s, err
		}
		if i%10 == 0 {
			leader = story.ID
		}
		s.stories = append(s.stories, story.ID)
	}
	similar := map[int64][]feeds.Related{}
	for i, id := range s.stories {
		for k := 1; k <= 5; k++ {
			similar[id] = append(similar[id], feeds.Related{ID: s.stories[(i+k*13)%len(s.stories)], Score: 0.6 - 0.05*float64(k)})
		}
	}
	if err := st.SetSimilarMany(ctx, similar); err != nil {
		return s, err
	}
	seen := map[string]bool{}
	for _, ts := range tagSets {
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				s.tags = append(s.tags, t)
			}
		}
	}

	// The returning commenters: one approved comment each, on recent stories.
	tr, err := mail.Open("", filepath.Join(dir, "seed-outbox"), mail.Options{})
	if err != nil {
		return s, err
	}
	defer tr.Close()
	svc, err := comments.NewService(comments.Options{Store: st, Stories: st, Keys: keys, Mail: tr})
	if err != nil {
		return s, err
	}
	for i, name := range names {
		a := commenter{name: name, email: fmt.Sprintf("reader%d@mail%d.example.org", i, i%5)}
		c, err := svc.Submit(ctx, comments.Submission{
			StoryID: s.stories[len(s.stories)-1-i%40], Author: a.name, Email: a.email,
			Body: sentences[i%len(sentences)], FormTime: time.Now().Add(-time.Minute), IP: fmt.Sprintf("198.51.100.%d", i+1),
		})
		if err != nil {
			return s, fmt.Errorf("seeding comment %d: %w", i, err)
		}
		if _, err := svc.Approve(ctx, c.ID); err != nil {
			return s, err
		}
		s.returning = append(s.returning, a)
	}
	return s, nil
}

// The made-up outlets, headlines and comments, shared with bench/pages.
var (
	outlets, subjects, verbs, objects  = corpus.Outlets, corpus.Subjects, corpus.Verbs, corpus.Objects
	details, tagSets, names, sentences = corpus.Details, corpus.TagSets, corpus.Names, corpus.Sentences
)
