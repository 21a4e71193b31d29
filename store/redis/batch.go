package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// AddStory stores st unless a story already holds one of its dedupe keys, in
// which case that story is returned with created false.
func (s *Store) AddStory(ctx context.Context, st feeds.Story) (feeds.Story, bool, error) {
	added, err := s.AddStories(ctx, []feeds.Story{st})
	if err != nil {
		return feeds.Story{}, false, err
	}
	return added[0].Story, added[0].Created, nil
}

// AddStories stores each story unless a story (stored, or earlier in sts)
// holds one of its dedupe keys, in a few pipelined round trips per batch.
//
// Each new story's body and search postings are written under a fresh ID
// first, then claimScript claims its keys and indexes it in one step; the
// loser of a race with another process deletes its body and postings. Every
// step is safe to resend: INCRBY at worst skips IDs, HSET and ZADD write the
// same values, and claimScript recognises its own ID.
func (s *Store) AddStories(ctx context.Context, sts []feeds.Story) ([]feeds.Added, error) {
	fail := func(err error) ([]feeds.Added, error) {
		return nil, fmt.Errorf("redis: add stories: %w", err)
	}
	out := make([]feeds.Added, len(sts))
	if len(sts) == 0 {
		return out, nil
	}
	sts = slices.Clone(sts)
	var allKeys []string
	for i := range sts {
		sts[i].Tags = feeds.NormaliseTags(sts[i].Tags)
		allKeys = append(allKeys, sts[i].DedupeKeys()...)
	}
	owners, err := s.keyOwners(ctx, allKeys)
	if err != nil {
		return fail(err)
	}

	// Sort the batch out: stories whose key is stored, stories repeating an
	// earlier one of the batch, and fresh ones. Keys are tried in DedupeKeys
	// order, so the URL's owner wins.
	stored := map[int]int64{} // index → ID of the stored story holding a key
	sameAs := map[int]int{}   // index → earlier index of the batch
	firstWith := map[string]int{}
	var fresh []int
	for i, st := range sts {
		keys := st.DedupeKeys()
	keys:
		for _, k := range keys {
			if id, ok := owners[k]; ok {
				stored[i] = id
				break keys
			}
			if j, ok := firstWith[k]; ok {
				sameAs[i] = j
				break keys
			}
		}
		if _, ok := stored[i]; ok {
			continue
		}
		if _, ok := sameAs[i]; ok {
			continue
		}
		for _, k := range keys {
			firstWith[k] = i
		}
		fresh = append(fresh, i)
	}

	if len(fresh) > 0 {
		lost, err := s.writeFresh(ctx, sts, fresh, out)
		if err != nil {
			return fail(err)
		}
		for i, owner := range lost {
			stored[i] = owner
		}
	}
	if err := s.fillStored(ctx, stored, out); err != nil {
		return fail(err)
	}
	for i, j := range sameAs {
		out[i] = feeds.Added{Story: out[j].Story}
	}
	return out, nil
}

// keyOwners maps each taken dedupe key to the ID of the story holding it.
func (s *Store) keyOwners(ctx context.Context, keys []string) (map[string]int64, error) {
	owners := make(map[string]int64)
	if len(keys) == 0 {
		return owners, nil
	}
	vals, err := s.c.HMGet(ctx, s.k.storyKeys(), keys...).Result()
	if err != nil {
		return nil, err
	}
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		id, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("dedupe owner %q: %w", str, err)
		}
		owners[keys[i]] = id
	}
	return owners, nil
}

// writeFresh stores the stories at the fresh indexes, filling out for those
// it created, and returns the indexes that lost a key to another process
// meanwhile, with the winner's ID.
func (s *Store) writeFresh(ctx context.Context, sts []feeds.Story, fresh []int, out []feeds.Added) (map[int]int64, error) {
	last, err := s.c.IncrBy(ctx, s.k.storyNextID(), int64(len(fresh))).Result()
	if err != nil {
		return nil, err
	}
	for n, i := range fresh {
		sts[i].ID = last - int64(len(fresh)) + 1 + int64(n)
	}
	docs := make([]searchDoc, len(fresh))
	for n, i := range fresh {
		docs[n] = newSearchDoc(sts[i])
	}
	// Bodies and postings first: neither is reachable before the claim.
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for n, i := range fresh {
			fields, err := storyFields(sts[i])
			if err != nil {
				return err
			}
			p.HSet(ctx, s.k.story(sts[i].ID), fields...)
			s.writePostings(ctx, p, sts[i].ID, docs[n])
		}
		return nil
	}); err != nil {
		return nil, err
	}
	claims := make([]*goredis.Cmd, len(fresh))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for n, i := range fresh {
			st := sts[i]
			keys := append([]string{s.k.storyKeys(), s.k.searchDocs(), s.k.searchTokens()}, s.indexSets(st)...)
			args := []any{st.ID, member(st.PublishedAt, st.ID), docs[n].length, docs[n].entry(st)}
			for _, k := range st.DedupeKeys() {
				args = append(args, k)
			}
			claims[n] = claimScript.Eval(ctx, p, keys, args...)
		}
		return nil
	}); err != nil {
		// A claim may or may not have happened; a body stays either way,
		// unreachable if its claim did not.
		return nil, err
	}
	lost := make(map[int]int64)
	var orphans []int // positions in fresh
	for n, i := range fresh {
		owner, err := claims[n].Int64()
		if err != nil {
			return nil, err
		}
		if owner != sts[i].ID {
			lost[i] = owner
			orphans = append(orphans, n)
			continue
		}
		out[i] = feeds.Added{Story: asRead(sts[i]), Created: true}
	}
	if len(orphans) > 0 {
		// Unreachable already; removed so they take no room. One command a
		// key: bodies and postings live in different slots.
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, n := range orphans {
				id := sts[fresh[n]].ID
				p.Del(ctx, s.k.story(id))
				for term := range docs[n].freq {
					p.ZRem(ctx, s.k.postings(term), id)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return lost, nil
}

// fillStored reads, in one pipeline, the stored stories that hold the keys of
// the batch stories at the given indexes.
func (s *Store) fillStored(ctx context.Context, stored map[int]int64, out []feeds.Added) error {
	if len(stored) == 0 {
		return nil
	}
	var ids []int64
	for _, id := range stored {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	sts, err := s.loadStories(ctx, ids)
	if err != nil {
		return err
	}
	byID := make(map[int64]feeds.Story, len(sts))
	for _, st := range sts {
		byID[st.ID] = st
	}
	for i, id := range stored {
		st, ok := byID[id]
		if !ok {
			return fmt.Errorf("story %d holds a dedupe key but has no body", id)
		}
		out[i] = feeds.Added{Story: st}
	}
	return nil
}

// asRead is a just-written story as a read would return it.
func asRead(st feeds.Story) feeds.Story {
	st.PublishedAt, st.FirstSeenAt = st.PublishedAt.UTC(), st.FirstSeenAt.UTC()
	if len(st.Similar) == 0 {
		st.Similar = nil
	}
	return st
}

// SetSimilarMany replaces several Similar lists in one pipeline; IDs not
// stored are skipped.
func (s *Store) SetSimilarMany(ctx context.Context, lists map[int64][]feeds.Related) error {
	if len(lists) == 0 {
		return nil
	}
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for id, similar := range lists {
			b, err := json.Marshal(similar)
			if err != nil {
				return err
			}
			setSimilarScript.Eval(ctx, p, []string{s.k.story(id)}, string(b))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: set similar lists: %w", err)
	}
	return nil
}
