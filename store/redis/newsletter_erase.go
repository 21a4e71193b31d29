package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/newsletter"
)

// eraseSubscriberScript is the first step of an erasure (see keys.go): it
// removes the subscriber's hash and index entries and records its ID in
// erasing. KEYS: subscriber hash, by_index, ids, pending, erasing, then the
// status sets in the order of statuses. ARGV: id, and "" to erase whatever
// the status, or the subscriber's member of pending to erase it only while
// it is there (still pending; CreatedAt never changes). Returns 1 when
// erased (or when a resent call finds the ID in erasing), 0 otherwise.
var eraseSubscriberScript = goredis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'index', 'created_at')
if not f[1] then
  if ARGV[2] == '' and redis.call('ZSCORE', KEYS[5], ARGV[1]) then return 1 end
  return 0
end
if ARGV[2] ~= '' and not redis.call('ZSCORE', KEYS[4], ARGV[2]) then return 0 end
if redis.call('HGET', KEYS[2], f[1]) == ARGV[1] then redis.call('HDEL', KEYS[2], f[1]) end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], f[2] .. '|' .. string.format('%019d', ARGV[1]))
for i = 6, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
redis.call('DEL', KEYS[1])
redis.call('ZADD', KEYS[5], ARGV[1], ARGV[1])
return 1
`)

// DeleteSubscriber erases a subscriber and every delivery record of it (see
// keys.go for the steps). Repeating a call that failed halfway finishes it.
func (s *Store) DeleteSubscriber(ctx context.Context, id int64) error {
	n, err := s.eraseSubscriber(ctx, id, "")
	if err == nil && n == 0 {
		err = newsletter.ErrNotFound
	}
	if err == nil {
		err = s.eraseDeliveries(ctx, []int64{id})
	}
	if err != nil {
		return fmt.Errorf("redis: delete subscriber %d: %w", id, err)
	}
	return nil
}

// DeletePending erases the subscribers still Pending that were created
// before t and returns how many. It also finishes erasures an earlier call
// left halfway.
func (s *Store) DeletePending(ctx context.Context, before time.Time) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("redis: delete pending: %w", err) }
	// Members are "<CreatedAt>|<ID>": every one below the bare time text is
	// of a subscriber created before it.
	members, err := s.c.ZRangeByLex(ctx, s.k.subPending(), &goredis.ZRangeBy{
		Min: "-", Max: "(" + formatTime(before),
	}).Result()
	if err != nil {
		return fail(err)
	}
	left, err := s.c.ZRange(ctx, s.k.subErasing(), 0, -1).Result()
	if err != nil {
		return fail(err)
	}
	var erased []int64
	for _, v := range left {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fail(fmt.Errorf("erasing member %q: %w", v, err))
		}
		erased = append(erased, id)
	}
	// One script a candidate, in one pipeline; each checks the member is
	// still there, as the subscriber may have been confirmed meanwhile.
	ids := make([]int64, len(members))
	cmds := make([]*goredis.Cmd, len(members))
	if len(members) > 0 {
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, m := range members {
				if ids[i], err = memberID(m); err != nil {
					return err
				}
				cmds[i] = eraseSubscriberScript.Eval(ctx, p, s.eraseKeys(ids[i]), ids[i], m)
			}
			return nil
		}); err != nil {
			return fail(err)
		}
	}
	count := 0
	for i, cmd := range cmds {
		if n, _ := cmd.Int(); n == 1 {
			count++
			erased = append(erased, ids[i])
		}
	}
	if err := s.eraseDeliveries(ctx, erased); err != nil {
		return fail(err)
	}
	return count, nil
}

// eraseSubscriber runs the first step of an erasure; ifPending is "" or the
// member of pending that must still be there.
func (s *Store) eraseSubscriber(ctx context.Context, id int64, ifPending string) (int, error) {
	return eraseSubscriberScript.Run(ctx, s.c, s.eraseKeys(id), id, ifPending).Int()
}

// eraseKeys are the keys eraseSubscriberScript takes.
func (s *Store) eraseKeys(id int64) []string {
	keys := []string{s.k.subscriber(id), s.k.subByIndex(), s.k.subIDs(), s.k.subPending(), s.k.subErasing()}
	for _, st := range statuses {
		keys = append(keys, s.k.subStatus(string(st)))
	}
	return keys
}

// eraseDeliveries runs the last two steps of the erasure of ids: their
// delivery records go, in one pipeline over every issue, then their IDs
// leave erasing.
func (s *Store) eraseDeliveries(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	weeks, err := s.c.ZRange(ctx, s.k.issueWeeks(), 0, -1).Result()
	if err != nil {
		return err
	}
	if len(weeks) > 0 {
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, w := range weeks {
				removeDeliveriesScript.Eval(ctx, p, s.deliveryKeys(w), args...)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return s.c.ZRem(ctx, s.k.subErasing(), args...).Err()
}
