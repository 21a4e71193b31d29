package redis

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/comments"
)

var _ comments.Store = (*Store)(nil)

// commentStatuses is every comment status, in the order the status sets are
// passed to scripts (see commentStatusKeys).
var commentStatuses = []comments.Status{comments.Pending, comments.Approved, comments.Spam, comments.Rejected}

// luaCommentSets maps a status to its global set among a script's KEYS,
// which hold the four sets in the order of commentStatuses from KEYS[at].
// It also holds the helper that takes one approved comment off a returning
// commenter's count.
const luaCommentSets = `
local function statussets(at)
  return {pending = KEYS[at], approved = KEYS[at + 1], spam = KEYS[at + 2], rejected = KEYS[at + 3]}
end
local function unapprove(h, who)
  if redis.call('HINCRBY', h, who, -1) <= 0 then redis.call('HDEL', h, who) end
end
`

// addCommentScript stores a new comment under the next ID, with every index
// entry, unless a resent copy of the same call already did. KEYS: next_id,
// the call's token key, the global set of its status, its story's set of
// that status, returning, its IP set, with_ip. ARGV: the prefix of comment
// hashes, the token's lifetime in seconds, created_at text, "1" when it has
// an IP hash, its returning field ("" when not approved or without an email
// index), then the field/value pairs of commentFields. Returns the ID.
var addCommentScript = goredis.NewScript(`
local done = redis.call('GET', KEYS[2])
if done then return tonumber(done) end
local id = string.format('%d', redis.call('INCR', KEYS[1]))
redis.call('HSET', ARGV[1] .. id, unpack(ARGV, 6))
redis.call('ZADD', KEYS[3], id, id)
redis.call('ZADD', KEYS[4], id, id)
if ARGV[4] ~= '' then
  local m = ARGV[3] .. '|' .. string.format('%019d', id)
  redis.call('ZADD', KEYS[6], 0, m)
  redis.call('ZADD', KEYS[7], 0, m)
end
if ARGV[5] ~= '' then redis.call('HINCRBY', KEYS[5], ARGV[5], 1) end
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
return tonumber(id)
`)

// addTokenTTL is how long an AddComment's token outlives it: far longer than
// any resend of the call.
const addTokenTTL = 10 * time.Minute

// listCommentsScript reads, in one atomic step, the comments with an ID
// above AfterID in the union of up to four disjoint ID sets, lowest IDs
// first. KEYS: the sets. ARGV: the prefix of comment hashes, AfterID,
// Limit (0: no limit; handed to LIMIT as given, since a Lua number would
// print a large one in a form Redis refuses). Returns ID, {field, value, …}
// pairs.
var listCommentsScript = goredis.NewScript(`
local limit = tonumber(ARGV[3])
local ids = {}
for i = 1, #KEYS do
  local got
  if limit > 0 then
    got = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. ARGV[2], '+inf', 'LIMIT', 0, ARGV[3])
  else
    got = redis.call('ZRANGEBYSCORE', KEYS[i], '(' .. ARGV[2], '+inf')
  end
  for _, id in ipairs(got) do ids[#ids + 1] = id end
end
if #KEYS > 1 then
  table.sort(ids, function(a, b) return tonumber(a) < tonumber(b) end)
end
local out = {}
for i, id in ipairs(ids) do
  if limit > 0 and i > limit then break end
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. id)
end
return out
`)

// AddComment stores c under a new ID and returns it as stored; a zero
// CreatedAt becomes now. One script takes the ID and writes the comment with
// every index entry, so IDs become visible in ascending order; a random
// token makes a resent call (reply lost) return the first call's ID instead
// of storing the comment twice.
func (s *Store) AddComment(ctx context.Context, c comments.Comment) (comments.Comment, error) {
	return s.addComment(ctx, c, newToken())
}

// addComment is AddComment with the call's token.
func (s *Store) addComment(ctx context.Context, c comments.Comment, token string) (comments.Comment, error) {
	fail := func(err error) (comments.Comment, error) {
		return comments.Comment{}, fmt.Errorf("redis: add comment on story %d: %w", c.StoryID, err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	if err := checkNewComment(c); err != nil {
		return fail(err)
	}
	hasIP, returning := "", ""
	if c.IPHash != "" {
		hasIP = "1"
	}
	if c.Status == comments.Approved && c.EmailIndex != "" {
		returning = returningField(c.EmailIndex, c.Author)
	}
	keys := []string{
		s.k.commentNextID(), s.k.commentAddToken(token),
		s.k.commentStatus(string(c.Status)), s.k.commentStory(c.StoryID, string(c.Status)),
		s.k.commentReturning(), s.k.commentIP(c.IPHash), s.k.commentWithIP(),
	}
	args := []any{s.k.commentPrefix(), int(addTokenTTL / time.Second), formatTime(c.CreatedAt), hasIP, returning}
	args = append(args, commentFields(c)...)
	id, err := addCommentScript.Run(ctx, s.c, keys, args...).Int64()
	if err != nil {
		return fail(err)
	}
	c.ID = id
	return commentAsRead(c), nil
}

// checkNewComment refuses what no stored comment may hold, and times the
// store cannot write.
func checkNewComment(c comments.Comment) error {
	if err := c.CheckStorable(); err != nil {
		return err
	}
	if err := checkStoredTime("CreatedAt", c.CreatedAt); err != nil {
		return err
	}
	return checkStoredTime("ModeratedAt", c.ModeratedAt)
}

// checkStoredTime refuses a time that timeLayout cannot write fixed-width,
// and so could not be read back or compared.
func checkStoredTime(what string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s %v is outside the years 1 to 9999", what, t)
	}
	return nil
}

// Comment returns the comment with the given ID or ErrNotFound.
func (s *Store) Comment(ctx context.Context, id int64) (comments.Comment, error) {
	m, err := s.c.HGetAll(ctx, s.k.comment(id)).Result()
	if err == nil && len(m) == 0 {
		err = comments.ErrNotFound
	}
	var c comments.Comment
	if err == nil {
		c, err = parseComment(id, m)
	}
	if err != nil {
		return comments.Comment{}, fmt.Errorf("redis: comment %d: %w", id, err)
	}
	return c, nil
}

// Comments lists the comments matching f by ascending ID. Without IDs, one
// script reads the status sets of the story (or the global ones) that the
// filter names and the comments they hold; with IDs, one pipeline reads
// those comments and the filter's other fields are checked on them.
func (s *Store) Comments(ctx context.Context, f comments.Filter) ([]comments.Comment, error) {
	fail := func(err error) ([]comments.Comment, error) {
		return nil, fmt.Errorf("redis: comments: %w", err)
	}
	wanted := commentStatuses
	if len(f.Statuses) > 0 {
		wanted = nil
		for _, st := range f.Statuses {
			if !st.Valid() {
				return fail(fmt.Errorf("invalid status %q in the filter", st))
			}
			if !slices.Contains(wanted, st) {
				wanted = append(wanted, st)
			}
		}
	}
	limit := max(f.Limit, 0)
	if len(f.IDs) > 0 {
		out, err := s.commentsByID(ctx, f, wanted, limit)
		if err != nil {
			return fail(err)
		}
		return out, nil
	}
	sets := make([]string, len(wanted))
	for i, st := range wanted {
		if f.StoryID != 0 {
			sets[i] = s.k.commentStory(f.StoryID, string(st))
		} else {
			sets[i] = s.k.commentStatus(string(st))
		}
	}
	res, err := listCommentsScript.Run(ctx, s.c, sets, s.k.commentPrefix(), f.AfterID, limit).Slice()
	if err != nil {
		return fail(err)
	}
	var out []comments.Comment
	for i := 0; i+1 < len(res); i += 2 {
		v, _ := res[i].(string)
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fail(fmt.Errorf("comment set member %q: %w", v, err))
		}
		m := scriptHash(res[i+1])
		if len(m) == 0 {
			return fail(fmt.Errorf("comment %d is indexed but absent", id))
		}
		c, err := parseComment(id, m)
		if err != nil {
			return fail(err)
		}
		out = append(out, c)
	}
	return out, nil
}

// commentsByID reads the comments of f.IDs above f.AfterID in one pipeline,
// keeps those of f's story and in one of the wanted statuses, and stops
// after limit (0: none).
func (s *Store) commentsByID(ctx context.Context, f comments.Filter, wanted []comments.Status, limit int) ([]comments.Comment, error) {
	ids := slices.Clone(f.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ids = slices.DeleteFunc(ids, func(id int64) bool { return id <= f.AfterID || id <= 0 })
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k.comment(id))
		}
		return nil
	}); err != nil {
		return nil, err
	}
	var out []comments.Comment
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		c, err := parseComment(ids[i], cmd.Val())
		if err != nil {
			return nil, err
		}
		if f.StoryID != 0 && c.StoryID != f.StoryID || !slices.Contains(wanted, c.Status) {
			continue
		}
		out = append(out, c)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// commentFields is the stored form of a comment, all but its ID. Numbers
// are decimal, times in timeLayout (a zero time as the zero time's text),
// email_sealed the raw ciphertext bytes, notify "1" or "0".
func commentFields(c comments.Comment) []any {
	notify := "0"
	if c.NotifyReplies {
		notify = "1"
	}
	return []any{
		"story_id", strconv.FormatInt(c.StoryID, 10),
		"parent_id", strconv.FormatInt(c.ParentID, 10),
		"depth", strconv.Itoa(c.Depth),
		"author", c.Author,
		"website", c.Website,
		"body", c.Body,
		"email_index", c.EmailIndex,
		"email_sealed", c.EmailSealed,
		"status", string(c.Status),
		"reason", c.Reason,
		"ip_hash", c.IPHash,
		"notify", notify,
		"created_at", formatTime(c.CreatedAt),
		"moderated_at", formatTime(c.ModeratedAt),
	}
}

// parseComment reads a comment hash that commentFields wrote.
func parseComment(id int64, m map[string]string) (comments.Comment, error) {
	c := comments.Comment{
		ID:            id,
		Author:        m["author"],
		Website:       m["website"],
		Body:          m["body"],
		EmailIndex:    m["email_index"],
		Status:        comments.Status(m["status"]),
		Reason:        m["reason"],
		IPHash:        m["ip_hash"],
		NotifyReplies: m["notify"] == "1",
	}
	if v := m["email_sealed"]; v != "" {
		c.EmailSealed = []byte(v)
	}
	if !c.Status.Valid() {
		return comments.Comment{}, fmt.Errorf("comment %d: stored status %q", id, c.Status)
	}
	var err error
	for _, n := range []struct {
		dst  *int64
		name string
	}{{&c.StoryID, "story_id"}, {&c.ParentID, "parent_id"}} {
		if *n.dst, err = strconv.ParseInt(m[n.name], 10, 64); err != nil {
			return comments.Comment{}, fmt.Errorf("comment %d: stored %s: %w", id, n.name, err)
		}
	}
	if c.Depth, err = strconv.Atoi(m["depth"]); err != nil {
		return comments.Comment{}, fmt.Errorf("comment %d: stored depth: %w", id, err)
	}
	if c.CreatedAt, err = parseTime(m["created_at"]); err != nil {
		return comments.Comment{}, fmt.Errorf("comment %d: %w", id, err)
	}
	if c.ModeratedAt, err = parseTime(m["moderated_at"]); err != nil {
		return comments.Comment{}, fmt.Errorf("comment %d: %w", id, err)
	}
	return c, nil
}

// commentAsRead is a just-written comment as a read would return it.
func commentAsRead(c comments.Comment) comments.Comment {
	c.CreatedAt, c.ModeratedAt = c.CreatedAt.UTC(), c.ModeratedAt.UTC()
	c.EmailSealed = slices.Clone(c.EmailSealed)
	if len(c.EmailSealed) == 0 {
		c.EmailSealed = nil
	}
	return c
}

// returningField is a commenter's field in the returning hash: the blind
// index preceded by its length in bytes, then the author's name, so that no
// two pairs share a field. The scripts build the same text.
func returningField(emailIndex, author string) string {
	return strconv.Itoa(len(emailIndex)) + ":" + emailIndex + author
}

// commentStatusKeys are the four global status sets, in the order of
// commentStatuses, as the scripts take them.
func (s *Store) commentStatusKeys() []string {
	out := make([]string, len(commentStatuses))
	for i, st := range commentStatuses {
		out[i] = s.k.commentStatus(string(st))
	}
	return out
}

// scriptHash reads the reply of a script's HGETALL: field, value, ….
func scriptHash(v any) map[string]string {
	fields, _ := v.([]any)
	m := make(map[string]string, len(fields)/2)
	for k := 0; k+1 < len(fields); k += 2 {
		name, _ := fields[k].(string)
		m[name], _ = fields[k+1].(string)
	}
	return m
}
