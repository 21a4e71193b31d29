package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/newsletter"
)

// deliveryScan is the COUNT hint of each HSCAN step of EachDelivery.
const deliveryScan = 1000

// EachDelivery calls fn with every delivery record of week, a page at a time
// (HSCAN of the week's hash; each page sorted by subscriber ID, the pages in
// no particular order). A record written during the walk may be missed or
// seen twice; exports are made of a store nobody writes to.
func (s *Store) EachDelivery(ctx context.Context, week string, fn func([]newsletter.Delivery) error) error {
	var cursor uint64
	for {
		kv, next, err := s.c.HScan(ctx, s.k.deliveries(week), cursor, "*", deliveryScan).Result()
		if err != nil {
			return fmt.Errorf("redis: deliveries of %q: %w", week, err)
		}
		page := make([]newsletter.Delivery, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			id, err := strconv.ParseInt(kv[i], 10, 64)
			if err != nil {
				return fmt.Errorf("redis: deliveries of %q: subscriber ID %q: %w", week, kv[i], err)
			}
			d, err := unpackDelivery(week, id, kv[i+1])
			if err != nil {
				return fmt.Errorf("redis: deliveries of %q: %w", week, err)
			}
			page = append(page, d)
		}
		slices.SortFunc(page, func(a, b newsletter.Delivery) int { return cmp.Compare(a.SubscriberID, b.SubscriberID) })
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// RestoreSubscribers stores subscribers with their IDs, sealed addresses,
// blind indexes and consent records as given, through the script that adds
// subscribers, addChunk at a time. One already stored under its ID and
// index is kept as it is.
func (s *Store) RestoreSubscribers(ctx context.Context, subs []newsletter.Subscriber) error {
	for _, sub := range subs {
		if err := checkSubscriber(sub); err != nil {
			return fmt.Errorf("redis: restore subscriber %d: %w", sub.ID, err)
		}
	}
	for chunk := range slices.Chunk(subs, addChunk) {
		if err := s.restoreSubscriberChunk(ctx, chunk); err != nil {
			return fmt.Errorf("redis: restore subscribers: %w", err)
		}
	}
	ids := make([]int64, len(subs))
	for i, sub := range subs {
		ids[i] = sub.ID
	}
	if err := s.raiseCounter(ctx, "subscribers", ids); err != nil {
		return fmt.Errorf("redis: restore subscribers: %w", err)
	}
	return nil
}

func (s *Store) restoreSubscriberChunk(ctx context.Context, subs []newsletter.Subscriber) error {
	indexes := make([]string, len(subs))
	for i, sub := range subs {
		indexes[i] = sub.Index
	}
	var held *goredis.SliceCmd
	exists := make([]*goredis.IntCmd, len(subs))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		held = p.HMGet(ctx, s.k.subByIndex(), indexes...)
		for i, sub := range subs {
			exists[i] = p.Exists(ctx, s.k.subscriber(sub.ID))
		}
		return nil
	}); err != nil {
		return err
	}
	var todo []newsletter.Subscriber
	for i, sub := range subs {
		own := strconv.FormatInt(sub.ID, 10)
		switch h, _ := held.Val()[i].(string); {
		case h == own:
			continue // restored already
		case h != "":
			return fmt.Errorf("subscriber %d: its blind index is held by subscriber %s", sub.ID, h)
		case exists[i].Val() > 0:
			return fmt.Errorf("subscriber %d: the ID is taken by another subscriber", sub.ID)
		}
		todo = append(todo, sub)
	}
	if len(todo) == 0 {
		return nil
	}
	res, err := s.runAddScript(ctx, todo)
	if err != nil {
		return err
	}
	for i, v := range res {
		if e, ok := v.([]any); !ok || len(e) < 2 || e[0] != int64(1) {
			return fmt.Errorf("subscriber %d: its blind index was taken meanwhile", todo[i].ID)
		}
	}
	return nil
}

// restoreIssueScript stores an issue unless its week has one. KEYS: issue
// hash, weeks, started. ARGV: week, "1" when its send has started, then
// field/value pairs.
var restoreIssueScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'save_token', 'restored', unpack(ARGV, 3))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[2] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end
return 1
`)

// RestoreIssue stores an issue with its send state, unless its week has one.
func (s *Store) RestoreIssue(ctx context.Context, is newsletter.Issue) error {
	if is.Week == "" {
		return errors.New("redis: restore issue: empty week")
	}
	args := append([]any{is.Week, startedFlag(is)}, issueFields(is)...)
	if err := restoreIssueScript.Run(ctx, s.c,
		[]string{s.k.issue(is.Week), s.k.issueWeeks(), s.k.issueStarted()}, args...).Err(); err != nil {
		return fmt.Errorf("redis: restore issue %q: %w", is.Week, err)
	}
	return nil
}

// restoreDeliveriesScript stores delivery records that are absent, puts
// the pending ones in ready or waiting and counts them. KEYS: deliveries,
// ready, waiting, counts. ARGV: five values per delivery, as finishScript
// takes them: ID, record, state, where ("ready", "waiting" or ""), score.
var restoreDeliveriesScript = goredis.NewScript(luaQueues + `
local delta = {pending = 0, sent = 0, failed = 0, skipped = 0}
for at = 1, #ARGV, 5 do
  local id = ARGV[at]
  if redis.call('HSETNX', KEYS[1], id, ARGV[at + 1]) == 1 then
    delta[ARGV[at + 2]] = delta[ARGV[at + 2]] + 1
    enqueue(id, ARGV[at + 3], ARGV[at + 4])
  end
end
addCounts(delta)
return 0
`)

// RestoreDeliveries stores delivery records as given (state, attempts,
// owner, times): one script per week and finishChunk records.
func (s *Store) RestoreDeliveries(ctx context.Context, ds []newsletter.Delivery) error {
	var byWeek weekArgs
	for _, d := range ds {
		if !d.State.Valid() {
			return fmt.Errorf("redis: restore delivery of %q to %d: unknown delivery state %q", d.Week, d.SubscriberID, d.State)
		}
		byWeek.add(d)
	}
	for _, week := range byWeek.weeks {
		for args := range slices.Chunk(byWeek.args[week], 5*finishChunk) {
			if err := restoreDeliveriesScript.Run(ctx, s.c, s.deliveryKeys(week), args...).Err(); err != nil {
				return fmt.Errorf("redis: restore deliveries of %q: %w", week, err)
			}
		}
	}
	return nil
}
