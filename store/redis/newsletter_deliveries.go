package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/newsletter"
)

// planChunk is how many subscriber IDs one planning script handles, so that
// no script holds the server long (and its ZADD stays within Lua's limit on
// unpacked arguments).
const planChunk = 1000

// luaQueues holds the Lua helpers of the scripts that take weekArgs, whose
// KEYS are deliveries, ready, waiting and counts: enqueue puts a delivery in
// the queue weekArgs named, and addCounts applies per-state count changes.
const luaQueues = `
local function enqueue(id, where, score)
  if where == 'ready' then
    redis.call('ZADD', KEYS[2], id, id)
  elseif where == 'waiting' then
    redis.call('ZADD', KEYS[3], score, id)
  end
end
local function addCounts(delta)
  for _, st in ipairs({'pending', 'sent', 'failed', 'skipped'}) do
    if delta[st] ~= 0 then redis.call('HINCRBY', KEYS[4], st, delta[st]) end
  end
end
`

// luaRecord holds the Lua helpers for packed delivery records (see
// packDelivery) and for comparing time texts byte by byte: Lua's own string
// comparison follows the server's locale.
const luaRecord = `
local function unpackrec(r)
  local p = {}
  local at = 0
  for i = 1, 5 do
    at = string.find(r, '|', at + 1, true)
    p[i] = at
  end
  local n = tonumber(string.sub(r, p[4] + 1, p[5] - 1))
  return {
    state = string.sub(r, 1, p[1] - 1), attempts = string.sub(r, p[1] + 1, p[2] - 1),
    nb = string.sub(r, p[2] + 1, p[3] - 1), sent = string.sub(r, p[3] + 1, p[4] - 1),
    owner = string.sub(r, p[5] + 1, p[5] + n), err = string.sub(r, p[5] + n + 2)
  }
end
local function packrec(d)
  return d.state .. '|' .. d.attempts .. '|' .. d.nb .. '|' .. d.sent .. '|' .. #d.owner .. '|' .. d.owner .. '|' .. d.err
end
local function stateof(r)
  return string.sub(r, 1, string.find(r, '|', 1, true) - 1)
end
local function notafter(a, b)
  for i = 1, math.max(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x == nil then return true end
    if y == nil then return false end
    if x ~= y then return x < y end
  end
  return true
end
`

// planScript adds a pending delivery for each ID that has none. KEYS:
// deliveries, ready, waiting, counts. ARGV: the new record, then IDs.
// Returns how many it added.
var planScript = goredis.NewScript(`
local ready = {}
for i = 2, #ARGV do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[1]) == 1 then
    ready[#ready + 1] = ARGV[i]
    ready[#ready + 1] = ARGV[i]
  end
end
if #ready == 0 then return 0 end
redis.call('ZADD', KEYS[2], unpack(ready))
redis.call('HINCRBY', KEYS[4], 'pending', #ready / 2)
return #ready / 2
`)

// claimDeliveriesScript hands out pending deliveries (see keys.go). KEYS: deliveries,
// ready, waiting, counts. ARGV: n, now as time text, now in Unix ms, the
// lease's end as time text and in Unix ms, owner. Returns ID, record pairs
// in ascending ID order.
var claimDeliveriesScript = goredis.NewScript(luaRecord + `
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[3])
for _, id in ipairs(due) do
  local r = redis.call('HGET', KEYS[1], id)
  if not r or stateof(r) ~= 'pending' then
    redis.call('ZREM', KEYS[3], id)
  elseif notafter(unpackrec(r).nb, ARGV[2]) then
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZADD', KEYS[2], id, id)
  end
end
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)) do
  redis.call('ZREM', KEYS[2], id)
  local r = redis.call('HGET', KEYS[1], id)
  if r and stateof(r) == 'pending' then
    local d = unpackrec(r)
    d.owner, d.nb = ARGV[6], ARGV[4]
    r = packrec(d)
    redis.call('HSET', KEYS[1], id, r)
    redis.call('ZADD', KEYS[3], ARGV[5], id)
    out[#out + 1] = id
    out[#out + 1] = r
  end
end
return out
`)

// finishScript records deliveries' outcomes, in order. KEYS: deliveries,
// ready, waiting, counts. ARGV: five values per delivery: ID, new record, new
// state, where it goes ("ready", "waiting" or ""), its score in waiting.
// Returns the IDs of the deliveries that are absent.
var finishScript = goredis.NewScript(luaRecord + luaQueues + `
local absent, delta = {}, {pending = 0, sent = 0, failed = 0, skipped = 0}
for at = 1, #ARGV, 5 do
  local id, new, where = ARGV[at], ARGV[at + 2], ARGV[at + 3]
  local r = redis.call('HGET', KEYS[1], id)
  if not r then
    absent[#absent + 1] = id
  else
    local old = stateof(r)
    redis.call('HSET', KEYS[1], id, ARGV[at + 1])
    if old ~= new then
      delta[old] = delta[old] - 1
      delta[new] = delta[new] + 1
    end
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    enqueue(id, where, ARGV[at + 4])
  end
end
addCounts(delta)
return absent
`)

// finishChunk is how many deliveries one finishScript call records.
const finishChunk = 1000

// removeDeliveriesScript deletes the delivery records of some subscribers.
// KEYS: deliveries, ready, waiting, counts. ARGV: IDs.
var removeDeliveriesScript = goredis.NewScript(luaRecord + `
for _, id in ipairs(ARGV) do
  local r = redis.call('HGET', KEYS[1], id)
  if r then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HINCRBY', KEYS[4], stateof(r), -1)
  end
end
return 0
`)

// deliveryKeys are the keys every delivery script takes, in this order.
func (s *Store) deliveryKeys(week string) []string {
	return []string{s.k.deliveries(week), s.k.ready(week), s.k.waiting(week), s.k.counts(week)}
}

// PlanDeliveries adds a pending delivery of the week's issue for each
// subscriber ID that has none yet and returns how many it added; ErrNotFound
// if no issue has that week. A resent chunk (reply lost) adds nothing twice,
// but its additions are then not counted in the result.
func (s *Store) PlanDeliveries(ctx context.Context, week string, subscriberIDs []int64) (int, error) {
	fail := func(err error) (int, error) { return 0, fmt.Errorf("redis: plan deliveries of %q: %w", week, err) }
	// Issues are never deleted, so a check before is as good as one inside.
	n, err := s.c.Exists(ctx, s.k.issue(week)).Result()
	if err == nil && n == 0 {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return fail(err)
	}
	fresh := packDelivery(newsletter.Delivery{State: newsletter.DeliveryPending})
	added := 0
	for len(subscriberIDs) > 0 {
		chunk := subscriberIDs[:min(planChunk, len(subscriberIDs))]
		subscriberIDs = subscriberIDs[len(chunk):]
		args := make([]any, 0, len(chunk)+1)
		args = append(args, fresh)
		for _, id := range chunk {
			args = append(args, id)
		}
		n, err := planScript.Run(ctx, s.c, s.deliveryKeys(week), args...).Int()
		if err != nil {
			return fail(err)
		}
		added += n
	}
	return added, nil
}

// ClaimDeliveries atomically claims up to n pending deliveries whose
// NotBefore is not after now, lowest subscriber IDs first, for owner until
// now+lease.
func (s *Store) ClaimDeliveries(ctx context.Context, week, owner string, n int, now time.Time, lease time.Duration) ([]newsletter.Delivery, error) {
	fail := func(err error) ([]newsletter.Delivery, error) {
		return nil, fmt.Errorf("redis: claim deliveries of %q: %w", week, err)
	}
	if owner == "" {
		return fail(errors.New("empty owner"))
	}
	if lease < 0 {
		return fail(fmt.Errorf("negative lease %v", lease))
	}
	if n <= 0 {
		return nil, nil
	}
	end := now.Add(lease)
	res, err := claimDeliveriesScript.Run(ctx, s.c, s.deliveryKeys(week),
		n, formatTime(now), now.UnixMilli(), formatTime(end), end.UnixMilli(), owner).StringSlice()
	if err != nil {
		return fail(err)
	}
	var out []newsletter.Delivery
	for i := 0; i+1 < len(res); i += 2 {
		id, err := strconv.ParseInt(res[i], 10, 64)
		if err != nil {
			return fail(fmt.Errorf("delivery ID %q: %w", res[i], err))
		}
		d, err := unpackDelivery(week, id, res[i+1])
		if err != nil {
			return fail(err)
		}
		out = append(out, d)
	}
	return out, nil
}

// FinishDeliveries records the outcomes of claimed deliveries and clears
// their owners; a delivery left pending becomes claimable again at NotBefore.
// One script per week (per finishChunk deliveries) writes them; absent ones
// are named in an error wrapping ErrNotFound once the rest are written.
func (s *Store) FinishDeliveries(ctx context.Context, ds []newsletter.Delivery) error {
	var byWeek weekArgs
	for _, d := range ds {
		if !d.State.Valid() {
			return fmt.Errorf("redis: finish delivery of %q to %d: unknown delivery state %q", d.Week, d.SubscriberID, d.State)
		}
		if d.Attempts < 0 {
			return fmt.Errorf("redis: finish delivery of %q to %d: negative attempts %d", d.Week, d.SubscriberID, d.Attempts)
		}
		d.Owner = ""
		byWeek.add(d)
	}
	var absent []string
	for _, week := range byWeek.weeks {
		for args := range slices.Chunk(byWeek.args[week], 5*finishChunk) {
			ids, err := finishScript.Run(ctx, s.c, s.deliveryKeys(week), args...).StringSlice()
			if err != nil {
				return fmt.Errorf("redis: finish deliveries of %q: %w", week, err)
			}
			for _, id := range ids {
				absent = append(absent, fmt.Sprintf("%s/%s", week, id))
			}
		}
	}
	if len(absent) > 0 {
		const most = 10
		names := strings.Join(absent[:min(len(absent), most)], ", ")
		if len(absent) > most {
			names += fmt.Sprintf(" and %d more", len(absent)-most)
		}
		return fmt.Errorf("redis: finish deliveries: %s: %w", names, newsletter.ErrNotFound)
	}
	return nil
}

// weekArgs gathers deliveries as the finish and restore scripts take them,
// week by week in order of first appearance: five arguments each, the
// subscriber ID, the packed record, the state, the queue it joins ("ready",
// "waiting" or none) and its score there.
type weekArgs struct {
	weeks []string
	args  map[string][]any
}

func (w *weekArgs) add(d newsletter.Delivery) {
	where, score := "", int64(0)
	if d.State == newsletter.DeliveryPending {
		where = "ready"
		if !d.NotBefore.IsZero() {
			where, score = "waiting", d.NotBefore.UnixMilli()
		}
	}
	if w.args == nil {
		w.args = map[string][]any{}
	}
	if _, ok := w.args[d.Week]; !ok {
		w.weeks = append(w.weeks, d.Week)
	}
	w.args[d.Week] = append(w.args[d.Week], d.SubscriberID, packDelivery(d), string(d.State), where, score)
}

// Delivery returns one delivery record or ErrNotFound.
func (s *Store) Delivery(ctx context.Context, week string, subscriberID int64) (newsletter.Delivery, error) {
	r, err := s.c.HGet(ctx, s.k.deliveries(week), strconv.FormatInt(subscriberID, 10)).Result()
	if errors.Is(err, goredis.Nil) {
		err = newsletter.ErrNotFound
	}
	var d newsletter.Delivery
	if err == nil {
		d, err = unpackDelivery(week, subscriberID, r)
	}
	if err != nil {
		return newsletter.Delivery{}, fmt.Errorf("redis: delivery of %q to %d: %w", week, subscriberID, err)
	}
	return d, nil
}

// CountDeliveries counts the week's deliveries by state; a week without any
// has only zeros.
func (s *Store) CountDeliveries(ctx context.Context, week string) (newsletter.DeliveryCounts, error) {
	vals, err := s.c.HMGet(ctx, s.k.counts(week),
		string(newsletter.DeliveryPending), string(newsletter.DeliverySent),
		string(newsletter.DeliveryFailed), string(newsletter.DeliverySkipped)).Result()
	if err != nil {
		return newsletter.DeliveryCounts{}, fmt.Errorf("redis: count deliveries of %q: %w", week, err)
	}
	var n [4]int
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		if n[i], err = strconv.Atoi(str); err != nil {
			return newsletter.DeliveryCounts{}, fmt.Errorf("redis: count deliveries of %q: stored count %q: %w", week, str, err)
		}
	}
	return newsletter.DeliveryCounts{Pending: n[0], Sent: n[1], Failed: n[2], Skipped: n[3]}, nil
}

// packDelivery is the stored form of a delivery, one string:
//
//	<state>|<attempts>|<NotBefore>|<SentAt>|<len(owner)>|<owner>|<LastError>
//
// Times are in timeLayout, empty when zero. The owner is preceded by its
// length in bytes and the error comes last, so both may hold any byte.
func packDelivery(d newsletter.Delivery) string {
	var b strings.Builder
	b.WriteString(string(d.State))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(d.Attempts))
	b.WriteByte('|')
	b.WriteString(recordTime(d.NotBefore))
	b.WriteByte('|')
	b.WriteString(recordTime(d.SentAt))
	b.WriteByte('|')
	b.WriteString(strconv.Itoa(len(d.Owner)))
	b.WriteByte('|')
	b.WriteString(d.Owner)
	b.WriteByte('|')
	b.WriteString(d.LastError)
	return b.String()
}

// unpackDelivery reads a record packDelivery wrote.
func unpackDelivery(week string, id int64, r string) (newsletter.Delivery, error) {
	bad := func(why string) (newsletter.Delivery, error) {
		return newsletter.Delivery{}, fmt.Errorf("stored delivery record %q: %s", r, why)
	}
	parts := strings.SplitN(r, "|", 6)
	if len(parts) != 6 {
		return bad("too few fields")
	}
	d := newsletter.Delivery{Week: week, SubscriberID: id, State: newsletter.DeliveryState(parts[0])}
	var err error
	if d.Attempts, err = strconv.Atoi(parts[1]); err != nil {
		return bad("bad attempts")
	}
	if d.NotBefore, err = parseRecordTime(parts[2]); err != nil {
		return bad("bad NotBefore")
	}
	if d.SentAt, err = parseRecordTime(parts[3]); err != nil {
		return bad("bad SentAt")
	}
	n, err := strconv.Atoi(parts[4])
	rest := parts[5]
	if err != nil || n < 0 || n >= len(rest) || rest[n] != '|' {
		return bad("bad owner")
	}
	d.Owner, d.LastError = rest[:n], rest[n+1:]
	return d, nil
}

// recordTime is a time in a packed record: empty when zero.
func recordTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

func parseRecordTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(s)
}
