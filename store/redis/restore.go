package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
)

// What `tidings export` and `tidings import` need beyond the domain
// contracts (see package store/transfer): a few reads that no page makes,
// and writes that keep the IDs they are given. Each Restore method keeps a
// record whose ID (or week) is stored already as it is, so that an import
// cut short can be run again; a record whose ID is free but whose unique
// key (a source's URL, a story's dedupe key, a subscriber's blind index) is
// held by another ID is an error. Each raises its kind's next_id counter
// above the IDs it stored, so new records never take an imported ID. The
// writes use the same scripts and key layout as the domain methods (see
// keys.go), one hash tag per script.

// raiseCounterScript sets a next_id counter to ARGV[1] unless it is higher
// already. KEYS: the counter.
var raiseCounterScript = goredis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 0
`)

// counterKeys maps the counter names store/transfer uses to their keys.
func (s *Store) counterKeys() map[string]string {
	return map[string]string{
		"sources":     s.k.srcNextID(),
		"stories":     s.k.storyNextID(),
		"subscribers": s.k.subNextID(),
		"comments":    s.k.commentNextID(),
	}
}

// IDCounters reports the highest ID handed out so far for sources, stories,
// subscribers and comments; a kind that never had one is missing.
func (s *Store) IDCounters(ctx context.Context) (map[string]int64, error) {
	cmds := map[string]*goredis.StringCmd{}
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for name, key := range s.counterKeys() {
			cmds[name] = p.Get(ctx, key)
		}
		return nil
	}); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: ID counters: %w", err)
	}
	out := map[string]int64{}
	for name, cmd := range cmds {
		if errors.Is(cmd.Err(), goredis.Nil) {
			continue
		}
		n, err := cmd.Int64()
		if err != nil {
			return nil, fmt.Errorf("redis: ID counter %s: %w", name, err)
		}
		if n > 0 {
			out[name] = n
		}
	}
	return out, nil
}

// RaiseIDCounters makes the next ID of each named kind greater than the
// given value; a counter already higher stays.
func (s *Store) RaiseIDCounters(ctx context.Context, counters map[string]int64) error {
	keys := s.counterKeys()
	for name := range counters {
		if keys[name] == "" {
			return fmt.Errorf("redis: raise ID counters: unknown counter %q", name)
		}
	}
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for name, v := range counters {
			raiseCounterScript.Eval(ctx, p, []string{keys[name]}, v)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("redis: raise ID counters: %w", err)
	}
	return nil
}

// raiseCounter raises one counter to the highest of ids.
func (s *Store) raiseCounter(ctx context.Context, name string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.RaiseIDCounters(ctx, map[string]int64{name: slices.Max(ids)})
}

// OnceMarks lists the one-time steps recorded by MarkOnce, by name.
func (s *Store) OnceMarks(ctx context.Context) ([]string, error) {
	names, err := s.c.HKeys(ctx, s.k.once()).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: once marks: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// IsEmpty reports whether the store holds no source, story, subscriber,
// issue or comment (under its prefix).
func (s *Store) IsEmpty(ctx context.Context) (bool, error) {
	sets := []string{s.k.srcIDs(), s.k.storiesAll(viewAny), s.k.subIDs(), s.k.issueWeeks()}
	sets = append(sets, s.commentStatusKeys()...)
	cmds := make([]*goredis.IntCmd, len(sets))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, k := range sets {
			cmds[i] = p.ZCard(ctx, k)
		}
		return nil
	}); err != nil {
		return false, fmt.Errorf("redis: is empty: %w", err)
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return false, nil
		}
	}
	return true, nil
}

// restoreSourceScript stores a source under its own ID unless that ID is
// stored already. KEYS: by_url, ids, due, source hash. ARGV: url, id, due
// score ("" when paused), then field/value pairs. Returns {1} when stored,
// {0} when the ID was stored already, {2, id} when another source holds
// the URL.
var restoreSourceScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[4]) == 1 then return {0} end
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and old ~= ARGV[2] then return {2, tonumber(old)} end
redis.call('HSET', KEYS[4], unpack(ARGV, 4))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2]) end
return {1}
`)

// RestoreSources stores sources with their IDs and poll state (one script
// each, in one pipeline).
func (s *Store) RestoreSources(ctx context.Context, srcs []feeds.Source) error {
	cmds := make([]*goredis.Cmd, len(srcs))
	ids := make([]int64, len(srcs))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, src := range srcs {
			ids[i] = src.ID
			args := append([]any{src.URL, src.ID, dueScore(src)}, sourceFields(src)...)
			cmds[i] = restoreSourceScript.Eval(ctx, p,
				[]string{s.k.srcByURL(), s.k.srcIDs(), s.k.srcDue(), s.k.source(src.ID)}, args...)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("redis: restore sources: %w", err)
	}
	for i, cmd := range cmds {
		res, err := cmd.Int64Slice()
		if err == nil && res[0] == 2 {
			err = fmt.Errorf("its URL %q is held by source %d", srcs[i].URL, res[1])
		}
		if err != nil {
			return fmt.Errorf("redis: restore source %d: %w", srcs[i].ID, err)
		}
	}
	if err := s.raiseCounter(ctx, "sources", ids); err != nil {
		return fmt.Errorf("redis: restore sources: %w", err)
	}
	return nil
}

// restoreCommentScript stores a comment under its own ID with every index
// entry, unless that ID is stored already. KEYS: comment hash, the global
// set of its status, its story's set of that status, returning, its IP set,
// with_ip. ARGV: id, created_at text, "1" when it has an IP hash, its
// returning field ("" when not approved or without an email index), then
// the field/value pairs of commentFields.
var restoreCommentScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local id = ARGV[1]
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], id, id)
redis.call('ZADD', KEYS[3], id, id)
if ARGV[3] ~= '' then
  local m = ARGV[2] .. '|' .. string.format('%019d', id)
  redis.call('ZADD', KEYS[5], 0, m)
  redis.call('ZADD', KEYS[6], 0, m)
end
if ARGV[4] ~= '' then redis.call('HINCRBY', KEYS[4], ARGV[4], 1) end
return 1
`)

// RestoreComments stores comments with their IDs, parents, statuses and
// sealed addresses as given (one script each, in one pipeline).
func (s *Store) RestoreComments(ctx context.Context, cs []comments.Comment) error {
	ids := make([]int64, len(cs))
	for i, c := range cs {
		if c.ID <= 0 {
			return fmt.Errorf("redis: restore comment: ID %d is not positive", c.ID)
		}
		if err := checkNewComment(c); err != nil {
			return fmt.Errorf("redis: restore comment %d: %w", c.ID, err)
		}
		ids[i] = c.ID
	}
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, c := range cs {
			hasIP, returning := "", ""
			if c.IPHash != "" {
				hasIP = "1"
			}
			if c.Status == comments.Approved && c.EmailIndex != "" {
				returning = returningField(c.EmailIndex, c.Author)
			}
			keys := []string{
				s.k.comment(c.ID), s.k.commentStatus(string(c.Status)),
				s.k.commentStory(c.StoryID, string(c.Status)), s.k.commentReturning(),
				s.k.commentIP(c.IPHash), s.k.commentWithIP(),
			}
			args := append([]any{c.ID, formatTime(c.CreatedAt), hasIP, returning}, commentFields(c)...)
			restoreCommentScript.Eval(ctx, p, keys, args...)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("redis: restore comments: %w", err)
	}
	if err := s.raiseCounter(ctx, "comments", ids); err != nil {
		return fmt.Errorf("redis: restore comments: %w", err)
	}
	return nil
}
