package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// claimDueScript takes due sources and moves their next poll to the end of
// the lease, in the {src} slot. KEYS: due. ARGV: now in whole seconds (the
// pre-filter), now as time text (the exact test, byte by byte), limit (0:
// none), the lease's end in whole seconds and as time text, the prefix of
// source hashes. Returns {id, fields before the claim} per source taken,
// earliest due second first.
var claimDueScript = goredis.NewScript(`
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = tonumber(ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  if limit > 0 and #out >= limit then break end
  local h = ARGV[6] .. id
  local f = redis.call('HMGET', h, 'paused', 'next_poll_at')
  if f[2] and f[1] ~= '1' and f[2] <= ARGV[2] then
    out[#out + 1] = {id, redis.call('HGETALL', h)}
    redis.call('HSET', h, 'next_poll_at', ARGV[5])
    redis.call('ZADD', KEYS[1], ARGV[4], id)
  end
end
return out
`)

// sourcePrefix is the name of a source's hash without its ID, for the
// script that names source hashes itself.
func (k keys) sourcePrefix() string { return k.p + "{src}:" }

// ClaimDue takes up to limit due sources and moves their next poll to
// now+lease in one script, so two processes never take the same source. A
// claim resent after a lost reply takes further sources; those it took the
// first time wait for their lease to end.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]feeds.Source, error) {
	fail := func(err error) ([]feeds.Source, error) {
		return nil, fmt.Errorf("redis: claim due sources: %w", err)
	}
	until := now.Add(lease)
	res, err := claimDueScript.Run(ctx, s.c, []string{s.k.srcDue()},
		strconv.FormatInt(now.Unix(), 10), formatTime(now), max(limit, 0),
		strconv.FormatInt(until.Unix(), 10), formatTime(until), s.k.sourcePrefix()).Slice()
	if err != nil {
		return fail(err)
	}
	out := make([]feeds.Source, 0, len(res))
	for _, r := range res {
		pair, ok := r.([]any)
		if !ok || len(pair) != 2 {
			return fail(fmt.Errorf("unexpected reply %v", r))
		}
		idText, _ := pair[0].(string)
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil {
			return fail(fmt.Errorf("source index member %q: %w", idText, err))
		}
		flat, _ := pair[1].([]any)
		m := make(map[string]string, len(flat)/2)
		for i := 0; i+1 < len(flat); i += 2 {
			k, _ := flat[i].(string)
			v, _ := flat[i+1].(string)
			m[k] = v
		}
		src, err := parseSource(id, m)
		if err != nil {
			return fail(fmt.Errorf("source %d: %w", id, err))
		}
		out = append(out, src)
	}
	return out, nil
}
