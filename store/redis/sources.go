package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// addSourceScript stores a source under a fresh ID unless its URL is taken.
// KEYS: by_url, ids, due, source hash. ARGV: url, id, due score ("" when
// paused), then field/value pairs. Returns {1, id} when stored, {0, id of the
// holder} otherwise. A resent call finds its own ID under the URL and reports
// success again.
var addSourceScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and old ~= ARGV[2] then return {0, tonumber(old)} end
redis.call('HSET', KEYS[4], unpack(ARGV, 4))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2]) end
return {1, tonumber(ARGV[2])}
`)

// updateSourceScript overwrites a source's fields and its index entries.
// KEYS: source hash, by_url, due. ARGV: id, url, due score ("" when paused),
// then field/value pairs. Returns "ok", "notfound" or "exists".
var updateSourceScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'url')
if not old then return 'notfound' end
if old ~= ARGV[2] then
  local other = redis.call('HGET', KEYS[2], ARGV[2])
  if other and other ~= ARGV[1] then return 'exists' end
  redis.call('HDEL', KEYS[2], old)
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[3], ARGV[1])
else
  redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
end
return 'ok'
`)

// removeSourceScript deletes a source and its index entries.
// KEYS: source hash, by_url, ids, due. ARGV: id. Returns 1, or 0 if absent
// (also when a resent call finds its own earlier work done).
var removeSourceScript = goredis.NewScript(`
local url = redis.call('HGET', KEYS[1], 'url')
if not url then return 0 end
if redis.call('HGET', KEYS[2], url) == ARGV[1] then redis.call('HDEL', KEYS[2], url) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('DEL', KEYS[1])
return 1
`)

// AddSource stores a new source, or returns ErrExists and the source already
// stored under the same URL.
func (s *Store) AddSource(ctx context.Context, src feeds.Source) (feeds.Source, error) {
	fail := func(err error) (feeds.Source, error) {
		return feeds.Source{}, fmt.Errorf("redis: add source %q: %w", src.URL, err)
	}
	// Most calls for a known URL end here without spending an ID.
	if old, err := s.c.HGet(ctx, s.k.srcByURL(), src.URL).Int64(); err == nil {
		return s.existingSource(ctx, src.URL, old)
	} else if !errors.Is(err, goredis.Nil) {
		return fail(err)
	}
	id, err := s.c.Incr(ctx, s.k.srcNextID()).Result()
	if err != nil {
		return fail(err)
	}
	src.ID = id
	if src.CreatedAt.IsZero() {
		src.CreatedAt = time.Now()
	}
	args := append([]any{src.URL, id, dueScore(src)}, sourceFields(src)...)
	res, err := addSourceScript.Run(ctx, s.c,
		[]string{s.k.srcByURL(), s.k.srcIDs(), s.k.srcDue(), s.k.source(id)}, args...).Int64Slice()
	if err != nil {
		return fail(err)
	}
	if res[0] == 0 {
		return s.existingSource(ctx, src.URL, res[1])
	}
	return s.Source(ctx, id)
}

func (s *Store) existingSource(ctx context.Context, url string, id int64) (feeds.Source, error) {
	old, err := s.Source(ctx, id)
	if err != nil {
		return feeds.Source{}, err
	}
	return old, fmt.Errorf("redis: add source %q: %w", url, feeds.ErrExists)
}

// Source returns the source with the given ID or ErrNotFound.
func (s *Store) Source(ctx context.Context, id int64) (feeds.Source, error) {
	m, err := s.c.HGetAll(ctx, s.k.source(id)).Result()
	if err != nil {
		return feeds.Source{}, fmt.Errorf("redis: source %d: %w", id, err)
	}
	if len(m) == 0 {
		return feeds.Source{}, fmt.Errorf("redis: source %d: %w", id, feeds.ErrNotFound)
	}
	src, err := parseSource(id, m)
	if err != nil {
		return feeds.Source{}, fmt.Errorf("redis: source %d: %w", id, err)
	}
	return src, nil
}

// Sources lists the sources matching f by ascending ID, reading them in one
// pipeline.
func (s *Store) Sources(ctx context.Context, f feeds.SourceFilter) ([]feeds.Source, error) {
	var ids []string
	var err error
	if f.DueBy.IsZero() {
		ids, err = s.c.ZRange(ctx, s.k.srcIDs(), 0, -1).Result()
	} else {
		ids, err = s.c.ZRangeByScore(ctx, s.k.srcDue(), &goredis.ZRangeBy{
			Min: "-inf", Max: strconv.FormatInt(f.DueBy.Unix(), 10),
		}).Result()
	}
	if err != nil {
		return nil, fmt.Errorf("redis: sources: %w", err)
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	nums := make([]int64, len(ids))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, v := range ids {
			if nums[i], err = strconv.ParseInt(v, 10, 64); err != nil {
				return fmt.Errorf("source index member %q: %w", v, err)
			}
			cmds[i] = p.HGetAll(ctx, s.k.source(nums[i]))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: sources: %w", err)
	}
	var out []feeds.Source
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue // removed since the index was read
		}
		src, err := parseSource(nums[i], cmd.Val())
		if err != nil {
			return nil, fmt.Errorf("redis: sources: %w", err)
		}
		// The index holds whole seconds; this is the exact test.
		if !f.DueBy.IsZero() && (src.Paused || src.NextPollAt.After(f.DueBy)) {
			continue
		}
		out = append(out, src)
	}
	slices.SortFunc(out, func(a, b feeds.Source) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// UpdateSource overwrites every field of a stored source but ID and CreatedAt.
// Moving it to a URL another source has yields ErrExists.
func (s *Store) UpdateSource(ctx context.Context, src feeds.Source) error {
	fields := sourceFields(src)
	fields = fields[:len(fields)-2] // created_at is kept
	args := append([]any{src.ID, src.URL, dueScore(src)}, fields...)
	res, err := updateSourceScript.Run(ctx, s.c,
		[]string{s.k.source(src.ID), s.k.srcByURL(), s.k.srcDue()}, args...).Text()
	switch {
	case err != nil:
	case res == "notfound":
		err = feeds.ErrNotFound
	case res == "exists":
		err = fmt.Errorf("url %q taken by another source: %w", src.URL, feeds.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("redis: update source %d: %w", src.ID, err)
	}
	return nil
}

// RemoveSource deletes a source and keeps its stories.
func (s *Store) RemoveSource(ctx context.Context, id int64) error {
	n, err := removeSourceScript.Run(ctx, s.c,
		[]string{s.k.source(id), s.k.srcByURL(), s.k.srcIDs(), s.k.srcDue()}, id).Int()
	if err == nil && n == 0 {
		err = feeds.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: remove source %d: %w", id, err)
	}
	return nil
}

// dueScore is the source's score in the due index, "" when it must not be
// there. Whole seconds are enough for a pre-filter and never overflow.
func dueScore(src feeds.Source) string {
	if src.Paused {
		return ""
	}
	return strconv.FormatInt(src.NextPollAt.Unix(), 10)
}

// sourceFields is the stored form of a source; created_at comes last.
func sourceFields(src feeds.Source) []any {
	return []any{
		"url", src.URL,
		"title", src.Title,
		"site_url", src.SiteURL,
		"on_topic", boolText(src.OnTopic),
		"paused", boolText(src.Paused),
		"etag", src.ETag,
		"last_modified", src.LastModified,
		"last_polled_at", formatTime(src.LastPolledAt),
		"next_poll_at", formatTime(src.NextPollAt),
		"last_error", src.LastError,
		"error_count", strconv.Itoa(src.ErrorCount),
		"created_at", formatTime(src.CreatedAt),
	}
}

func parseSource(id int64, m map[string]string) (feeds.Source, error) {
	src := feeds.Source{
		ID:           id,
		URL:          m["url"],
		Title:        m["title"],
		SiteURL:      m["site_url"],
		OnTopic:      m["on_topic"] == "1",
		Paused:       m["paused"] == "1",
		ETag:         m["etag"],
		LastModified: m["last_modified"],
		LastError:    m["last_error"],
	}
	var err error
	if src.ErrorCount, err = strconv.Atoi(m["error_count"]); err != nil {
		return feeds.Source{}, fmt.Errorf("stored error_count: %w", err)
	}
	for _, t := range []struct {
		dst  *time.Time
		name string
	}{
		{&src.LastPolledAt, "last_polled_at"},
		{&src.NextPollAt, "next_poll_at"},
		{&src.CreatedAt, "created_at"},
	} {
		if *t.dst, err = parseTime(m[t.name]); err != nil {
			return feeds.Source{}, err
		}
	}
	return src, nil
}

func boolText(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
