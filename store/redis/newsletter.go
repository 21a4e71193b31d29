package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/newsletter"
)

var _ newsletter.Store = (*Store)(nil)

// statuses is every subscriber status, in the order the status sets are
// passed to scripts.
var statuses = []newsletter.Status{newsletter.Pending, newsletter.Confirmed, newsletter.Unsubscribed, newsletter.Bounced}

// addSubscribersScript stores subscribers unless their blind index is
// taken. KEYS: by_index, ids, pending, next_id, then the status sets in the
// order of statuses. ARGV: the prefix of subscriber hash keys (the script
// names each hash itself: they share the {subs} slot), then addStride values
// per subscriber: index, the ID chosen for it ("0": take one with INCR),
// status, created_at text, then the field/value pairs of subscriberFields.
// Returns one entry per subscriber: {1, id} when stored (also when a resent
// call finds its own ID under the index), or {0, id, {field, value, …}} of
// the subscriber holding the index.
var addSubscribersScript = goredis.NewScript(`
local sets = {pending = KEYS[5], confirmed = KEYS[6], unsubscribed = KEYS[7], bounced = KEYS[8]}
local out = {}
for at = 2, #ARGV, ` + strconv.Itoa(addStride) + ` do
  local index, id, status = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local old = redis.call('HGET', KEYS[1], index)
  if old and old ~= id then
    out[#out + 1] = {0, tonumber(old), redis.call('HGETALL', ARGV[1] .. old)}
  else
    if id == '0' then id = tostring(redis.call('INCR', KEYS[4])) end
    redis.call('HSET', ARGV[1] .. id, unpack(ARGV, at + 4, at + ` + strconv.Itoa(addStride-1) + `))
    redis.call('HSET', KEYS[1], index, id)
    redis.call('ZADD', KEYS[2], id, id)
    redis.call('ZADD', sets[status], id, id)
    if status == 'pending' then
      redis.call('ZADD', KEYS[3], 0, ARGV[at + 3] .. '|' .. string.format('%019d', id))
    end
    out[#out + 1] = {1, tonumber(id)}
  end
end
return out
`)

// addStride is how many ARGV values addSubscribersScript takes per
// subscriber: four, then the 22 of subscriberFields.
const addStride = 4 + 22

// addChunk is how many subscribers one addSubscribersScript call stores, so
// that no call holds the server long.
const addChunk = 500

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
	res, err := s.AddSubscribers(ctx, []newsletter.Subscriber{sub})
	if err != nil {
		return newsletter.Subscriber{}, false, err
	}
	return res[0].Subscriber, res[0].Created, nil
}

// AddSubscribers stores subs, addChunk at a time: for each chunk one HMGET
// finds the indexes still free, one INCRBY reserves IDs for them (so a known
// index spends no ID), and one script stores them, yielding to an index
// taken meanwhile. The IDs are chosen before the script so that a resent
// script (reply lost) recognises its own work.
func (s *Store) AddSubscribers(ctx context.Context, subs []newsletter.Subscriber) ([]newsletter.AddedSubscriber, error) {
	for i, sub := range subs {
		if err := checkSubscriber(sub); err != nil {
			return nil, fmt.Errorf("redis: add subscriber %d of %d: %w", i+1, len(subs), err)
		}
	}
	out := make([]newsletter.AddedSubscriber, len(subs))
	first := make(map[string]int, len(subs)) // Index → its first element
	var todo []int                           // the first elements
	for i, sub := range subs {
		if _, ok := first[sub.Index]; !ok {
			first[sub.Index] = i
			todo = append(todo, i)
		}
	}
	now := time.Now()
	for chunk := range slices.Chunk(todo, addChunk) {
		if err := s.addChunk(ctx, subs, chunk, now, out); err != nil {
			return nil, fmt.Errorf("redis: add subscribers: %w", err)
		}
	}
	for i, sub := range subs {
		if j := first[sub.Index]; j != i {
			out[i] = newsletter.AddedSubscriber{Subscriber: out[j].Subscriber}
		}
	}
	return out, nil
}

// addChunk stores the subscribers subs[i] for i in pos (distinct indexes)
// and sets out[i] for each.
func (s *Store) addChunk(ctx context.Context, subs []newsletter.Subscriber, pos []int, now time.Time, out []newsletter.AddedSubscriber) error {
	indexes := make([]string, len(pos))
	for k, i := range pos {
		indexes[k] = subs[i].Index
	}
	held, err := s.c.HMGet(ctx, s.k.subByIndex(), indexes...).Result()
	if err != nil {
		return err
	}
	free := int64(0)
	for _, v := range held {
		if v == nil {
			free++
		}
	}
	next := int64(0)
	if free > 0 {
		last, err := s.c.IncrBy(ctx, s.k.subNextID(), free).Result()
		if err != nil {
			return err
		}
		next = last - free + 1
	}
	wrote := make([]newsletter.Subscriber, len(pos))
	for k, i := range pos {
		sub := subs[i]
		sub.ID = 0
		if held[k] == nil {
			sub.ID = next
			next++
		}
		if sub.CreatedAt.IsZero() {
			sub.CreatedAt = now
		}
		wrote[k] = sub
	}
	res, err := s.runAddScript(ctx, wrote)
	if err != nil {
		return err
	}
	if len(res) != len(pos) {
		return fmt.Errorf("the add script answered %d results for %d subscribers", len(res), len(pos))
	}
	for k, v := range res {
		e, ok := v.([]any)
		if !ok || len(e) < 2 {
			return fmt.Errorf("the add script answered %v", v)
		}
		created, _ := e[0].(int64)
		id, _ := e[1].(int64)
		if created == 1 {
			sub := wrote[k]
			sub.ID = id
			out[pos[k]] = newsletter.AddedSubscriber{Subscriber: subscriberAsRead(sub), Created: true}
			continue
		}
		var fields []any
		if len(e) > 2 {
			fields, _ = e[2].([]any)
		}
		m := make(map[string]string, len(fields)/2)
		for f := 0; f+1 < len(fields); f += 2 {
			name, _ := fields[f].(string)
			m[name], _ = fields[f+1].(string)
		}
		if len(m) == 0 {
			return fmt.Errorf("index of subscriber %d held by an ID without a subscriber", id)
		}
		old, err := parseSubscriber(id, m)
		if err != nil {
			return err
		}
		out[pos[k]] = newsletter.AddedSubscriber{Subscriber: old}
	}
	return nil
}

// runAddScript runs addSubscribersScript for subs, whose IDs are chosen (0:
// the script takes one) and CreatedAt set.
func (s *Store) runAddScript(ctx context.Context, subs []newsletter.Subscriber) ([]any, error) {
	args := make([]any, 0, 1+len(subs)*addStride)
	args = append(args, s.k.subscriberPrefix())
	for _, sub := range subs {
		args = append(args, sub.Index, sub.ID, string(sub.Status), formatTime(sub.CreatedAt))
		args = append(args, subscriberFields(sub)...)
	}
	keys := []string{s.k.subByIndex(), s.k.subIDs(), s.k.subPending(), s.k.subNextID()}
	for _, st := range statuses {
		keys = append(keys, s.k.subStatus(string(st)))
	}
	return addSubscribersScript.Run(ctx, s.c, keys, args...).Slice()
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

// SubscribersByID reads the subscribers with the given IDs in one pipeline.
func (s *Store) SubscribersByID(ctx context.Context, ids []int64) (map[int64]newsletter.Subscriber, error) {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	subs, err := s.loadSubscribers(ctx, slices.Compact(ids))
	if err != nil {
		return nil, fmt.Errorf("redis: subscribers by ID: %w", err)
	}
	out := make(map[int64]newsletter.Subscriber, len(subs))
	for _, sub := range subs {
		out[sub.ID] = sub
	}
	return out, nil
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
