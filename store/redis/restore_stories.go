package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// RestoreStories stores stories under their own IDs, with tags, cluster
// links, Similar lists and search postings, the way AddStories stores new
// ones (bodies and postings first, then claimScript makes each reachable),
// so the pages and the search find them as soon as the call returns. A
// story already reachable under its ID is kept as it is; a body left by an
// import cut short before its claim is written again.
func (s *Store) RestoreStories(ctx context.Context, sts []feeds.Story) error {
	fail := func(err error) error { return fmt.Errorf("redis: restore stories: %w", err) }
	if len(sts) == 0 {
		return nil
	}
	sts = slices.Clone(sts)
	var allKeys []string
	for i := range sts {
		if sts[i].ID <= 0 {
			return fail(fmt.Errorf("story ID %d is not positive", sts[i].ID))
		}
		sts[i].Tags = feeds.NormaliseTags(sts[i].Tags)
		allKeys = append(allKeys, sts[i].DedupeKeys()...)
	}
	owners, err := s.keyOwners(ctx, allKeys)
	if err != nil {
		return fail(err)
	}
	indexed := make([]*goredis.FloatCmd, len(sts))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range sts {
			indexed[i] = p.ZScore(ctx, s.k.storiesAll(viewAny), member(st.PublishedAt, st.ID))
		}
		return nil
	}); err != nil && !isNil(err) {
		return fail(err)
	}
	var fresh []feeds.Story
	for i, st := range sts {
		done := indexed[i].Err() == nil
		for _, k := range st.DedupeKeys() {
			owner, ok := owners[k]
			switch {
			case ok && owner == st.ID:
				done = true
			case ok:
				return fail(fmt.Errorf("story %d: its key %q is held by story %d", st.ID, k, owner))
			}
		}
		if !done {
			fresh = append(fresh, st)
		}
	}
	if err := s.writeRestored(ctx, fresh); err != nil {
		return fail(err)
	}
	ids := make([]int64, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	if err := s.raiseCounter(ctx, "stories", ids); err != nil {
		return fail(err)
	}
	return nil
}

// writeRestored writes the bodies and postings of sts, then claims each
// one's keys and index entries under its own ID.
func (s *Store) writeRestored(ctx context.Context, sts []feeds.Story) error {
	if len(sts) == 0 {
		return nil
	}
	docs := make([]searchDoc, len(sts))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range sts {
			docs[i] = newSearchDoc(st)
			fields, err := storyFields(st)
			if err != nil {
				return err
			}
			p.HSet(ctx, s.k.story(st.ID), fields...)
			s.writePostings(ctx, p, st.ID, docs[i])
		}
		return nil
	}); err != nil {
		return err
	}
	claims := make([]*goredis.Cmd, len(sts))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range sts {
			keys := append([]string{s.k.storyKeys(), s.k.searchDocs(), s.k.searchTokens()}, s.indexSets(st)...)
			args := []any{st.ID, member(st.PublishedAt, st.ID), docs[i].length, docs[i].entry(st)}
			for _, k := range st.DedupeKeys() {
				args = append(args, k)
			}
			claims[i] = claimScript.Eval(ctx, p, keys, args...)
		}
		return nil
	}); err != nil {
		return err
	}
	for i, st := range sts {
		owner, err := claims[i].Int64()
		if err != nil {
			return err
		}
		if owner != st.ID {
			return fmt.Errorf("story %d: its keys were taken by story %s meanwhile", st.ID, strconv.FormatInt(owner, 10))
		}
	}
	return nil
}

// isNil reports whether err is the "no such key" reply.
func isNil(err error) bool { return errors.Is(err, goredis.Nil) }
