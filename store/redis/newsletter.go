package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/newsletter"
)

var _ newsletter.Store = (*Store)(nil)

// statuses is every subscriber status, in the order the status sets are
// passed to scripts.
var statuses = []newsletter.Status{newsletter.Pending, newsletter.Confirmed, newsletter.Unsubscribed, newsletter.Bounced}

// addSubscriberScript stores a subscriber under a fresh ID unless its blind
// index is taken. KEYS: by_index, ids, status set, pending, subscriber hash.
// ARGV: index, id, pending member ("" unless pending), then field/value
// pairs. Returns {1, id} when stored, {0, id of the holder} otherwise; a
// resent call finds its own ID under the index and reports success again.
var addSubscriberScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old and old ~= ARGV[2] then return {0, tonumber(old)} end
redis.call('HSET', KEYS[5], unpack(ARGV, 4))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[4], 0, ARGV[3]) end
return {1, tonumber(ARGV[2])}
`)

// updateSubscriberScript overwrites a subscriber's fields and moves it
// between status sets. KEYS: subscriber hash, pending, then the status sets
// in the order of statuses. ARGV: id, new status, then field/value pairs.
// Returns 0 when the subscriber is absent.
var updateSubscriberScript = goredis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'status')
if not old then return 0 end
local member = redis.call('HGET', KEYS[1], 'created_at') .. '|' .. string.format('%019d', ARGV[1])
local sets = {pending = KEYS[3], confirmed = KEYS[4], unsubscribed = KEYS[5], bounced = KEYS[6]}
if sets[old] then redis.call('ZREM', sets[old], ARGV[1]) end
redis.call('ZADD', sets[ARGV[2]], ARGV[1], ARGV[1])
if ARGV[2] == 'pending' then
  redis.call('ZADD', KEYS[2], 0, member)
else
  redis.call('ZREM', KEYS[2], member)
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
return 1
`)

// AddSubscriber stores a new subscriber under a fresh ID, unless one with the
// same Index exists: then it returns that one and false.
func (s *Store) AddSubscriber(ctx context.Context, sub newsletter.Subscriber) (newsletter.Subscriber, bool, error) {
	fail := func(err error) (newsletter.Subscriber, bool, error) {
		return newsletter.Subscriber{}, false, fmt.Errorf("redis: add subscriber: %w", err)
	}
	if err := checkSubscriber(sub); err != nil {
		return fail(err)
	}
	// Most calls for a known index end here without spending an ID.
	if old, err := s.c.HGet(ctx, s.k.subByIndex(), sub.Index).Int64(); err == nil {
		return s.existingSubscriber(ctx, old)
	} else if !errors.Is(err, goredis.Nil) {
		return fail(err)
	}
	id, err := s.c.Incr(ctx, s.k.subNextID()).Result()
	if err != nil {
		return fail(err)
	}
	sub.ID = id
	if sub.CreatedAt.IsZero() {
		sub.CreatedAt = time.Now()
	}
	pending := ""
	if sub.Status == newsletter.Pending {
		pending = member(sub.CreatedAt, id)
	}
	args := append([]any{sub.Index, id, pending}, subscriberFields(sub)...)
	res, err := addSubscriberScript.Run(ctx, s.c, []string{
		s.k.subByIndex(), s.k.subIDs(), s.k.subStatus(string(sub.Status)), s.k.subPending(), s.k.subscriber(id),
	}, args...).Int64Slice()
	if err != nil {
		return fail(err)
	}
	if res[0] == 0 {
		return s.existingSubscriber(ctx, res[1])
	}
	return subscriberAsRead(sub), true, nil
}

// existingSubscriber returns the subscriber holding an index, and false.
func (s *Store) existingSubscriber(ctx context.Context, id int64) (newsletter.Subscriber, bool, error) {
	old, err := s.Subscriber(ctx, id)
	if err != nil {
		return newsletter.Subscriber{}, false, fmt.Errorf("redis: add subscriber: %w", err)
	}
	return old, false, nil
}

// Subscriber returns one subscriber or ErrNotFound.
func (s *Store) Subscriber(ctx context.Context, id int64) (newsletter.Subscriber, error) {
	m, err := s.c.HGetAll(ctx, s.k.subscriber(id)).Result()
	if err == nil && len(m) == 0 {
		err = newsletter.ErrNotFound
	}
	var sub newsletter.Subscriber
	if err == nil {
		sub, err = parseSubscriber(id, m)
	}
	if err != nil {
		return newsletter.Subscriber{}, fmt.Errorf("redis: subscriber %d: %w", id, err)
	}
	return sub, nil
}

// SubscriberByIndex returns the subscriber with that blind index or
// ErrNotFound.
func (s *Store) SubscriberByIndex(ctx context.Context, index string) (newsletter.Subscriber, error) {
	id, err := s.c.HGet(ctx, s.k.subByIndex(), index).Int64()
	if errors.Is(err, goredis.Nil) {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return newsletter.Subscriber{}, fmt.Errorf("redis: subscriber by index: %w", err)
	}
	sub, err := s.Subscriber(ctx, id)
	if err != nil {
		// Erased between the two reads.
		return newsletter.Subscriber{}, fmt.Errorf("redis: subscriber by index: %w", err)
	}
	return sub, nil
}

// UpdateSubscriber overwrites a stored subscriber's fields, all but ID,
// Index and CreatedAt.
func (s *Store) UpdateSubscriber(ctx context.Context, sub newsletter.Subscriber) error {
	fail := func(err error) error { return fmt.Errorf("redis: update subscriber %d: %w", sub.ID, err) }
	if !sub.Status.Valid() {
		return fail(fmt.Errorf("unknown status %q", sub.Status))
	}
	fields := subscriberFields(sub)
	fields = fields[4:] // index and created_at are kept
	keys := []string{s.k.subscriber(sub.ID), s.k.subPending()}
	for _, st := range statuses {
		keys = append(keys, s.k.subStatus(string(st)))
	}
	args := append([]any{sub.ID, string(sub.Status)}, fields...)
	n, err := updateSubscriberScript.Run(ctx, s.c, keys, args...).Int()
	if err == nil && n == 0 {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return fail(err)
	}
	return nil
}

// Subscribers lists subscribers matching f in ascending ID order: the IDs
// from one sorted set, the fields from one pipeline.
func (s *Store) Subscribers(ctx context.Context, f newsletter.SubscriberFilter) ([]newsletter.Subscriber, error) {
	fail := func(err error) ([]newsletter.Subscriber, error) {
		return nil, fmt.Errorf("redis: subscribers: %w", err)
	}
	set := s.k.subIDs()
	if f.Status != "" {
		if !f.Status.Valid() {
			return fail(fmt.Errorf("unknown status %q", f.Status))
		}
		set = s.k.subStatus(string(f.Status))
	}
	if f.Limit < 0 {
		return fail(fmt.Errorf("negative limit %d", f.Limit))
	}
	ids, err := s.c.ZRangeByScore(ctx, set, &goredis.ZRangeBy{
		Min: "(" + strconv.FormatInt(f.AfterID, 10), Max: "+inf", Count: int64(f.Limit),
	}).Result()
	if err != nil {
		return fail(err)
	}
	nums := make([]int64, len(ids))
	for i, v := range ids {
		if nums[i], err = strconv.ParseInt(v, 10, 64); err != nil {
			return fail(fmt.Errorf("subscriber index member %q: %w", v, err))
		}
	}
	out, err := s.loadSubscribers(ctx, nums)
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// loadSubscribers reads the subscribers with the given IDs in one pipeline,
// in that order, skipping those erased meanwhile.
func (s *Store) loadSubscribers(ctx context.Context, ids []int64) ([]newsletter.Subscriber, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k.subscriber(id))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	out := make([]newsletter.Subscriber, 0, len(ids))
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		sub, err := parseSubscriber(ids[i], cmd.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, sub)
	}
	return out, nil
}

// CountSubscribers counts subscribers by status; every status is in the map,
// with 0 when none has it.
func (s *Store) CountSubscribers(ctx context.Context) (map[newsletter.Status]int, error) {
	cmds := make([]*goredis.IntCmd, len(statuses))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, st := range statuses {
			cmds[i] = p.ZCard(ctx, s.k.subStatus(string(st)))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redis: count subscribers: %w", err)
	}
	out := make(map[newsletter.Status]int, len(statuses))
	for i, st := range statuses {
		out[st] = int(cmds[i].Val())
	}
	return out, nil
}

// checkSubscriber refuses what AddSubscriber cannot store.
func checkSubscriber(sub newsletter.Subscriber) error {
	if sub.Index == "" {
		return errors.New("empty blind index")
	}
	if !sub.Status.Valid() {
		return fmt.Errorf("unknown status %q", sub.Status)
	}
	return nil
}

// subscriberFields is the stored form of a subscriber; index and created_at
// come first.
func subscriberFields(sub newsletter.Subscriber) []any {
	return []any{
		"index", sub.Index,
		"created_at", formatTime(sub.CreatedAt),
		"sealed", sub.Sealed,
		"status", string(sub.Status),
		"confirmed_at", formatTime(sub.ConfirmedAt),
		"unsubscribed_at", formatTime(sub.UnsubscribedAt),
		"confirm_mail_at", formatTime(sub.ConfirmMailAt),
		"consent_at", formatTime(sub.ConsentAt),
		"consent_page", sub.ConsentPage,
		"consent_ip", sub.ConsentIP,
		"hard_failures", strconv.Itoa(sub.HardFailures),
	}
}

func parseSubscriber(id int64, m map[string]string) (newsletter.Subscriber, error) {
	sub := newsletter.Subscriber{
		ID:          id,
		Index:       m["index"],
		Status:      newsletter.Status(m["status"]),
		ConsentPage: m["consent_page"],
		ConsentIP:   m["consent_ip"],
	}
	if v := m["sealed"]; v != "" {
		sub.Sealed = []byte(v)
	}
	var err error
	if sub.HardFailures, err = strconv.Atoi(m["hard_failures"]); err != nil {
		return newsletter.Subscriber{}, fmt.Errorf("stored hard_failures: %w", err)
	}
	for _, t := range []struct {
		dst  *time.Time
		name string
	}{
		{&sub.CreatedAt, "created_at"},
		{&sub.ConfirmedAt, "confirmed_at"},
		{&sub.UnsubscribedAt, "unsubscribed_at"},
		{&sub.ConfirmMailAt, "confirm_mail_at"},
		{&sub.ConsentAt, "consent_at"},
	} {
		if *t.dst, err = parseTime(m[t.name]); err != nil {
			return newsletter.Subscriber{}, err
		}
	}
	return sub, nil
}

// subscriberAsRead is a just-written subscriber as a read would return it.
func subscriberAsRead(sub newsletter.Subscriber) newsletter.Subscriber {
	for _, t := range []*time.Time{&sub.CreatedAt, &sub.ConfirmedAt, &sub.UnsubscribedAt, &sub.ConfirmMailAt, &sub.ConsentAt} {
		*t = t.UTC()
	}
	if len(sub.Sealed) == 0 {
		sub.Sealed = nil
	}
	return sub
}
