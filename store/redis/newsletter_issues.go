package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/newsletter"
)

// saveIssueScript stores an issue unless its week has one. KEYS: issue hash,
// weeks, started. ARGV: week, the caller's random token, "1" when its send
// has started, then field/value pairs. Returns 1 when stored (or when a
// resent call finds its own token), 0 otherwise.
var saveIssueScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], 'save_token') == ARGV[2] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], 'save_token', ARGV[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if ARGV[3] == '1' then redis.call('ZADD', KEYS[3], 0, ARGV[1]) end
return 1
`)

// updateIssueSendScript overwrites an issue's send state. KEYS: issue hash,
// started. ARGV: week, "1" when its send has started, then field/value
// pairs. Returns 0 when the issue is absent.
var updateIssueSendScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
if ARGV[2] == '1' then
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
`)

// SaveIssue stores is unless an issue of the same Week exists; then it
// returns the stored one and false.
func (s *Store) SaveIssue(ctx context.Context, is newsletter.Issue) (newsletter.Issue, bool, error) {
	fail := func(err error) (newsletter.Issue, bool, error) {
		return newsletter.Issue{}, false, fmt.Errorf("redis: save issue %q: %w", is.Week, err)
	}
	if is.Week == "" {
		return fail(errors.New("empty week"))
	}
	args := append([]any{is.Week, newToken(), startedFlag(is)}, issueFields(is)...)
	n, err := saveIssueScript.Run(ctx, s.c,
		[]string{s.k.issue(is.Week), s.k.issueWeeks(), s.k.issueStarted()}, args...).Int()
	if err != nil {
		return fail(err)
	}
	if n == 0 {
		old, err := s.Issue(ctx, is.Week)
		if err != nil {
			return fail(err)
		}
		return old, false, nil
	}
	return issueAsRead(is), true, nil
}

// Issue returns the issue of that week or ErrNotFound.
func (s *Store) Issue(ctx context.Context, week string) (newsletter.Issue, error) {
	m, err := s.c.HGetAll(ctx, s.k.issue(week)).Result()
	if err == nil && len(m) == 0 {
		err = newsletter.ErrNotFound
	}
	var is newsletter.Issue
	if err == nil {
		is, err = parseIssue(week, m)
	}
	if err != nil {
		return newsletter.Issue{}, fmt.Errorf("redis: issue %q: %w", week, err)
	}
	return is, nil
}

// Issues lists issues matching f, highest Week first: the weeks from one
// sorted set, the issues from one pipeline.
func (s *Store) Issues(ctx context.Context, f newsletter.IssueFilter) ([]newsletter.Issue, error) {
	fail := func(err error) ([]newsletter.Issue, error) { return nil, fmt.Errorf("redis: issues: %w", err) }
	if f.Limit < 0 {
		return fail(fmt.Errorf("negative limit %d", f.Limit))
	}
	set := s.k.issueWeeks()
	if f.SentOnly {
		set = s.k.issueStarted()
	}
	weeks, err := s.c.ZRevRangeByLex(ctx, set, &goredis.ZRangeBy{Max: "+", Min: "-", Count: int64(f.Limit)}).Result()
	if err != nil {
		return fail(err)
	}
	if len(weeks) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(weeks))
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, w := range weeks {
			cmds[i] = p.HGetAll(ctx, s.k.issue(w))
		}
		return nil
	}); err != nil {
		return fail(err)
	}
	out := make([]newsletter.Issue, 0, len(weeks))
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		is, err := parseIssue(weeks[i], cmd.Val())
		if err != nil {
			return fail(err)
		}
		out = append(out, is)
	}
	return out, nil
}

// UpdateIssueSend overwrites the send state of a stored issue; the composed
// content never changes.
func (s *Store) UpdateIssueSend(ctx context.Context, is newsletter.Issue) error {
	args := append([]any{is.Week, startedFlag(is)}, issueSendFields(is)...)
	n, err := updateIssueSendScript.Run(ctx, s.c,
		[]string{s.k.issue(is.Week), s.k.issueStarted()}, args...).Int()
	if err == nil && n == 0 {
		err = newsletter.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: update send of issue %q: %w", is.Week, err)
	}
	return nil
}

func startedFlag(is newsletter.Issue) string {
	if is.SendStartedAt.IsZero() {
		return ""
	}
	return "1"
}

// issueFields is the stored form of an issue: its content, then its send
// state (issueSendFields).
func issueFields(is newsletter.Issue) []any {
	ids := make([]string, len(is.StoryIDs))
	for i, id := range is.StoryIDs {
		ids[i] = strconv.FormatInt(id, 10)
	}
	return append([]any{
		"composed_at", formatTime(is.ComposedAt),
		"since", formatTime(is.Since),
		"until", formatTime(is.Until),
		"subject", is.Subject,
		"story_ids", strings.Join(ids, ","),
		"html", is.HTML,
		"text", is.Text,
	}, issueSendFields(is)...)
}

func issueSendFields(is newsletter.Issue) []any {
	return []any{
		"send_started_at", formatTime(is.SendStartedAt),
		"planned_through", strconv.FormatInt(is.PlannedThrough, 10),
		"planned", boolText(is.Planned),
		"sent_at", formatTime(is.SentAt),
	}
}

func parseIssue(week string, m map[string]string) (newsletter.Issue, error) {
	is := newsletter.Issue{
		Week:    week,
		Subject: m["subject"],
		HTML:    m["html"],
		Text:    m["text"],
		Planned: m["planned"] == "1",
	}
	var err error
	if v := m["story_ids"]; v != "" {
		for _, f := range strings.Split(v, ",") {
			id, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				return newsletter.Issue{}, fmt.Errorf("stored story_ids: %w", err)
			}
			is.StoryIDs = append(is.StoryIDs, id)
		}
	}
	if is.PlannedThrough, err = strconv.ParseInt(m["planned_through"], 10, 64); err != nil {
		return newsletter.Issue{}, fmt.Errorf("stored planned_through: %w", err)
	}
	for _, t := range []struct {
		dst  *time.Time
		name string
	}{
		{&is.ComposedAt, "composed_at"},
		{&is.Since, "since"},
		{&is.Until, "until"},
		{&is.SendStartedAt, "send_started_at"},
		{&is.SentAt, "sent_at"},
	} {
		if *t.dst, err = parseTime(m[t.name]); err != nil {
			return newsletter.Issue{}, err
		}
	}
	return is, nil
}

// issueAsRead is a just-saved issue as a read would return it.
func issueAsRead(is newsletter.Issue) newsletter.Issue {
	for _, t := range []*time.Time{&is.ComposedAt, &is.Since, &is.Until, &is.SendStartedAt, &is.SentAt} {
		*t = t.UTC()
	}
	if len(is.StoryIDs) == 0 {
		is.StoryIDs = nil
	}
	return is
}

// acquireLeaseScript takes a free lease or extends the owner's own.
// KEYS: lease. ARGV: owner, TTL in ms. Returns 1 when owner holds it.
var acquireLeaseScript = goredis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`)

// releaseLeaseScript deletes a lease if owner holds it. KEYS: lease. ARGV:
// owner.
var releaseLeaseScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// AcquireLease takes the lease name for owner for ttl (rounded up to whole
// milliseconds, as the server counts), or extends it if owner holds it
// already, and reports whether owner holds it now. The server's clock
// decides when a lease ends.
func (s *Store) AcquireLease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	switch {
	case name == "":
		return false, errors.New("redis: acquire lease: empty name")
	case owner == "":
		return false, fmt.Errorf("redis: acquire lease %q: empty owner", name)
	case ttl <= 0:
		return false, fmt.Errorf("redis: acquire lease %q: ttl %v is not positive", name, ttl)
	}
	ms := (ttl + time.Millisecond - 1) / time.Millisecond
	n, err := acquireLeaseScript.Run(ctx, s.c, []string{s.k.lease(name)}, owner, int64(ms)).Int()
	if err != nil {
		return false, fmt.Errorf("redis: acquire lease %q: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives the lease up if owner holds it; otherwise it does
// nothing.
func (s *Store) ReleaseLease(ctx context.Context, name, owner string) error {
	if err := releaseLeaseScript.Run(ctx, s.c, []string{s.k.lease(name)}, owner).Err(); err != nil {
		return fmt.Errorf("redis: release lease %q: %w", name, err)
	}
	return nil
}
