package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/comments"
)

// setCommentStatusScript moves a comment from one status to another if it
// still has the first, with every index entry, and stamps moderated_at.
// KEYS: comment hash, returning, then the status sets in the order of
// commentStatuses. ARGV: id, from, to, moderated_at text, the prefix of
// story sets. Returns {0} when the comment is absent, {1} when its status is
// not from, {2, {field, value, …}} of the changed comment.
var setCommentStatusScript = goredis.NewScript(luaCommentSets + `
local f = redis.call('HMGET', KEYS[1], 'status', 'story_id', 'email_index', 'author')
if not f[1] then return {0} end
local id, from, to = ARGV[1], ARGV[2], ARGV[3]
if f[1] ~= from then return {1} end
if from ~= to then
  local sets = statussets(3)
  local story = ARGV[5] .. f[2] .. ':'
  redis.call('ZREM', sets[from], id)
  redis.call('ZADD', sets[to], id, id)
  redis.call('ZREM', story .. from, id)
  redis.call('ZADD', story .. to, id, id)
  if f[3] ~= '' then
    local who = #f[3] .. ':' .. f[3] .. f[4]
    if from == 'approved' then unapprove(KEYS[2], who) end
    if to == 'approved' then redis.call('HINCRBY', KEYS[2], who, 1) end
  end
  redis.call('HSET', KEYS[1], 'status', to)
end
redis.call('HSET', KEYS[1], 'moderated_at', ARGV[4])
return {2, redis.call('HGETALL', KEYS[1])}
`)

// setNotifyScript sets the notify field of an existing comment. KEYS:
// comment hash. ARGV: "1" or "0". Returns 0 when the comment is absent.
var setNotifyScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'notify', ARGV[1])
return 1
`)

// deleteCommentScript erases a comment and every index entry of it. KEYS:
// comment hash, returning, with_ip, then the status sets in the order of
// commentStatuses. ARGV: id, the prefix of story sets, the prefix of IP
// sets. Returns 0 when the comment is absent.
var deleteCommentScript = goredis.NewScript(luaCommentSets + `
local f = redis.call('HMGET', KEYS[1], 'status', 'story_id', 'email_index', 'author', 'ip_hash', 'created_at')
if not f[1] then return 0 end
local id = ARGV[1]
redis.call('ZREM', statussets(4)[f[1]], id)
redis.call('ZREM', ARGV[2] .. f[2] .. ':' .. f[1], id)
if f[1] == 'approved' and f[3] ~= '' then unapprove(KEYS[2], #f[3] .. ':' .. f[3] .. f[4]) end
local m = f[6] .. '|' .. string.format('%019d', id)
if f[5] ~= '' then redis.call('ZREM', ARGV[3] .. f[5], m) end
redis.call('ZREM', KEYS[3], m)
redis.call('DEL', KEYS[1])
return 1
`)

// forgetIPsScript erases the IP hashes of up to a chunk of the comments in
// with_ip created before a time. KEYS: with_ip. ARGV: the prefix of comment
// hashes, the prefix of IP sets, the exclusive lex bound of the time, the
// chunk size. Returns {members looked at, hashes erased}.
var forgetIPsScript = goredis.NewScript(`
local ms = redis.call('ZRANGEBYLEX', KEYS[1], '-', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local n = 0
for _, m in ipairs(ms) do
  local h = ARGV[1] .. string.match(m, '|0*(%d+)$')
  local ip = redis.call('HGET', h, 'ip_hash')
  if ip and ip ~= '' then
    redis.call('HSET', h, 'ip_hash', '')
    redis.call('ZREM', ARGV[2] .. ip, m)
    n = n + 1
  end
  redis.call('ZREM', KEYS[1], m)
end
return {#ms, n}
`)

// forgetChunk is how many comments one forgetIPsScript call handles, so that
// no call holds the server long.
const forgetChunk = 1000

// SetStatus moves a comment from status from to status to in one script,
// which changes nothing unless the comment still has status from.
func (s *Store) SetStatus(ctx context.Context, id int64, from, to comments.Status, at time.Time) (comments.Comment, error) {
	fail := func(err error) (comments.Comment, error) {
		return comments.Comment{}, fmt.Errorf("redis: set status of comment %d from %s to %s: %w", id, from, to, err)
	}
	if !from.Valid() || !to.Valid() {
		return fail(fmt.Errorf("invalid status %q → %q", from, to))
	}
	if err := checkStoredTime("moderation time", at); err != nil {
		return fail(err)
	}
	keys := append([]string{s.k.comment(id), s.k.commentReturning()}, s.commentStatusKeys()...)
	res, err := setCommentStatusScript.Run(ctx, s.c, keys,
		id, string(from), string(to), formatTime(at), s.k.commentStoryPrefix()).Slice()
	if err != nil {
		return fail(err)
	}
	code, _ := res[0].(int64)
	switch {
	case code == 0:
		return fail(comments.ErrNotFound)
	case code == 1:
		return fail(comments.ErrConflict)
	case code != 2 || len(res) != 2:
		return fail(fmt.Errorf("the status script answered %v", res))
	}
	c, err := parseComment(id, scriptHash(res[1]))
	if err != nil {
		return fail(err)
	}
	return c, nil
}

// SetNotify turns reply notifications for a comment on or off.
func (s *Store) SetNotify(ctx context.Context, id int64, notify bool) error {
	v := "0"
	if notify {
		v = "1"
	}
	n, err := setNotifyScript.Run(ctx, s.c, []string{s.k.comment(id)}, v).Int()
	if err == nil && n == 0 {
		err = comments.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: set notify of comment %d: %w", id, err)
	}
	return nil
}

// DeleteComment erases a comment; its replies keep their ParentID.
func (s *Store) DeleteComment(ctx context.Context, id int64) error {
	keys := append([]string{s.k.comment(id), s.k.commentReturning(), s.k.commentWithIP()}, s.commentStatusKeys()...)
	n, err := deleteCommentScript.Run(ctx, s.c, keys, id, s.k.commentStoryPrefix(), s.k.commentIPPrefix()).Int()
	if err == nil && n == 0 {
		err = comments.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: delete comment %d: %w", id, err)
	}
	return nil
}

// CountApproved counts the approved comments of each story: the size of the
// story's approved set, read for all stories in one pipeline. Stories
// without any are missing from the map.
func (s *Store) CountApproved(ctx context.Context, storyIDs []int64) (map[int64]int, error) {
	ids := slices.Clone(storyIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ids = slices.DeleteFunc(ids, func(id int64) bool { return id <= 0 }) // never stored
	out := make(map[int64]int, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make([]*goredis.IntCmd, len(ids))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.ZCard(ctx, s.k.commentStory(id, string(comments.Approved)))
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redis: count approved comments: %w", err)
	}
	for i, cmd := range cmds {
		if n := cmd.Val(); n > 0 {
			out[ids[i]] = int(n)
		}
	}
	return out, nil
}

// HasApproved reports whether an approved comment exists by that author
// with that email index: whether the pair has a field in returning.
func (s *Store) HasApproved(ctx context.Context, emailIndex, author string) (bool, error) {
	if emailIndex == "" {
		return false, nil
	}
	ok, err := s.c.HExists(ctx, s.k.commentReturning(), returningField(emailIndex, author)).Result()
	if err != nil {
		return false, fmt.Errorf("redis: has approved comment: %w", err)
	}
	return ok, nil
}

// CountRecent counts the comments created at or after since from the client
// with that IP hash: one ZLEXCOUNT of its IP set.
func (s *Store) CountRecent(ctx context.Context, ipHash string, since time.Time) (int, error) {
	if ipHash == "" || since.UTC().Year() > 9999 {
		return 0, nil
	}
	low := "-"
	if since.UTC().Year() >= 1 {
		low = sinceBound(since)
	}
	n, err := s.c.ZLexCount(ctx, s.k.commentIP(ipHash), low, "+").Result()
	if err != nil {
		return 0, fmt.Errorf("redis: count recent comments: %w", err)
	}
	return int(n), nil
}

// ForgetIPs erases the IP hash of every comment created before t, a chunk
// at a time, and returns how many it changed. A call cut short leaves the
// rest for the next one.
func (s *Store) ForgetIPs(ctx context.Context, before time.Time) (int, error) {
	var bound string
	switch y := before.UTC().Year(); {
	case y < 1:
		return 0, nil
	case y > 9999:
		bound = "+"
	default:
		bound = "(" + formatTime(before)
	}
	total := 0
	for {
		res, err := forgetIPsScript.Run(ctx, s.c, []string{s.k.commentWithIP()},
			s.k.commentPrefix(), s.k.commentIPPrefix(), bound, forgetChunk).Int64Slice()
		if err == nil && len(res) != 2 {
			err = fmt.Errorf("the forget script answered %v", res)
		}
		if err != nil {
			return total, fmt.Errorf("redis: forget IP hashes before %v: %w", before, err)
		}
		total += int(res[1])
		if res[0] < forgetChunk {
			return total, nil
		}
	}
}
