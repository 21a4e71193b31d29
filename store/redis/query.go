package redis

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// queryScript answers a story filter from the index in one round trip,
// reading only. KEYS: the sets whose intersection is the answer. ARGV: lower
// bound for ZREVRANGEBYLEX ("-" or "[<time>"), offset, count (-1: all),
// "list" or "count", and how many members to walk per step. Returns members
// newest first, or their number.
//
// One set is a plain range. Several are intersected by walking the smallest
// newest first, a chunk at a time, and keeping members present in all others;
// a list stops as soon as its page is full.
var queryScript = goredis.NewScript(`
local bound, offset, count = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local counting = ARGV[4] == 'count'
if #KEYS == 1 then
  if counting then return redis.call('ZLEXCOUNT', KEYS[1], bound, '+') end
  return redis.call('ZREVRANGEBYLEX', KEYS[1], '+', bound, 'LIMIT', offset, count)
end
local driver, smallest = 1, redis.call('ZCARD', KEYS[1])
for i = 2, #KEYS do
  local n = redis.call('ZCARD', KEYS[i])
  if n < smallest then driver, smallest = i, n end
end
local out, matched, upper = {}, 0, '+'
while true do
  local chunk = redis.call('ZREVRANGEBYLEX', KEYS[driver], upper, bound, 'LIMIT', 0, ARGV[5])
  if #chunk == 0 then break end
  for _, m in ipairs(chunk) do
    local inAll = true
    for i = 1, #KEYS do
      if i ~= driver and not redis.call('ZSCORE', KEYS[i], m) then inAll = false break end
    end
    if inAll then
      matched = matched + 1
      if not counting and matched > offset then
        out[#out + 1] = m
        if count >= 0 and #out >= count then return out end
      end
    end
  end
  upper = '(' .. chunk[#chunk]
end
if counting then return matched end
return out
`)

// Stories lists the stories matching f, newest first: the IDs come from the
// index sets, the bodies from one pipeline.
func (s *Store) Stories(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error) {
	if err := s.clusterMembers(ctx, &f); err != nil {
		return nil, fmt.Errorf("redis: stories: %w", err)
	}
	if f.IDs != nil {
		sts, err := s.storiesByIDs(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("redis: stories: %w", err)
		}
		return page(sts, f), nil
	}
	count := int64(-1)
	if f.Limit > 0 {
		count = int64(f.Limit)
	}
	members, err := queryScript.Run(ctx, s.c, s.filterSets(f),
		sinceBound(f.Since), max(f.Offset, 0), count, "list", s.scanChunk).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: stories: %w", err)
	}
	ids := make([]int64, len(members))
	for i, m := range members {
		if ids[i], err = memberID(m); err != nil {
			return nil, fmt.Errorf("redis: stories: %w", err)
		}
	}
	sts, err := s.loadStories(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("redis: stories: %w", err)
	}
	return sts, nil
}

// CountStories counts the stories matching f, ignoring Limit and Offset.
func (s *Store) CountStories(ctx context.Context, f feeds.StoryFilter) (int, error) {
	if err := s.clusterMembers(ctx, &f); err != nil {
		return 0, fmt.Errorf("redis: count stories: %w", err)
	}
	if f.IDs != nil {
		sts, err := s.storiesByIDs(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("redis: count stories: %w", err)
		}
		return len(sts), nil
	}
	n, err := queryScript.Run(ctx, s.c, s.filterSets(f), sinceBound(f.Since), 0, -1, "count", s.scanChunk).Int()
	if err != nil {
		return 0, fmt.Errorf("redis: count stories: %w", err)
	}
	return n, nil
}

// filterSets names the sets whose intersection holds the stories matching f
// (Since is applied as a range).
func (s *Store) filterSets(f feeds.StoryFilter) []string {
	view := s.filterView(f)
	var sets []string
	if f.SourceID != 0 {
		sets = append(sets, s.k.storiesBySource(view, f.SourceID))
	}
	if f.Tag != "" {
		sets = append(sets, s.k.storiesByTag(view, f.Tag))
	}
	if f.ClusterID != 0 {
		sets = append(sets, s.k.storiesByCluster(view, f.ClusterID))
	}
	if len(sets) == 0 {
		sets = append(sets, s.k.storiesAll(view))
	}
	return sets
}

// clusterMembers turns a ClusterIDs filter without an ID list into one with
// the IDs of those clusters' members, read from their index sets in one
// pipeline; storiesByIDs then applies every other condition.
func (s *Store) clusterMembers(ctx context.Context, f *feeds.StoryFilter) error {
	if f.ClusterIDs == nil || f.IDs != nil {
		return nil
	}
	view := s.filterView(*f)
	cmds := make([]*goredis.StringSliceCmd, len(f.ClusterIDs))
	if len(f.ClusterIDs) > 0 {
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, id := range f.ClusterIDs {
				cmds[i] = p.ZRange(ctx, s.k.storiesByCluster(view, id), 0, -1)
			}
			return nil
		}); err != nil {
			return err
		}
	}
	f.IDs = []int64{}
	for _, cmd := range cmds {
		for _, m := range cmd.Val() {
			id, err := memberID(m)
			if err != nil {
				return err
			}
			f.IDs = append(f.IDs, id)
		}
	}
	return nil
}

// filterView names the index view (all, visible, leaders, both) f reads.
func (s *Store) filterView(f feeds.StoryFilter) string {
	switch {
	case f.VisibleOnly && f.LeadersOnly:
		return viewVisibleLeaders
	case f.VisibleOnly:
		return viewVisible
	case f.LeadersOnly:
		return viewLeaders
	}
	return viewAny
}

// storiesByIDs serves a filter with an ID list: a site asks for a handful of
// known stories (a Similar list), so it reads exactly those and filters and
// orders them here. Limit and Offset are left to the caller.
func (s *Store) storiesByIDs(ctx context.Context, f feeds.StoryFilter) ([]feeds.Story, error) {
	ids := slices.Clone(f.IDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	sts, err := s.loadStories(ctx, ids)
	if err != nil {
		return nil, err
	}
	sts = slices.DeleteFunc(sts, func(st feeds.Story) bool { return !matches(st, f) })
	slices.SortFunc(sts, func(a, b feeds.Story) int {
		if c := b.PublishedAt.Compare(a.PublishedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return sts, nil
}

// matches applies every field of f but IDs, Limit and Offset to one story.
func matches(st feeds.Story, f feeds.StoryFilter) bool {
	switch {
	case f.VisibleOnly && !st.Visible,
		f.LeadersOnly && st.ClusterID != 0,
		f.SourceID != 0 && st.SourceID != f.SourceID,
		f.ClusterID != 0 && st.ClusterID != f.ClusterID,
		f.ClusterIDs != nil && !slices.Contains(f.ClusterIDs, st.ClusterID),
		f.Tag != "" && !slices.Contains(st.Tags, f.Tag),
		!f.Since.IsZero() && st.PublishedAt.Before(f.Since):
		return false
	}
	return true
}

// page applies Offset and Limit to an ordered list.
func page(sts []feeds.Story, f feeds.StoryFilter) []feeds.Story {
	off := min(max(f.Offset, 0), len(sts))
	sts = sts[off:]
	if f.Limit > 0 && f.Limit < len(sts) {
		sts = sts[:f.Limit]
	}
	if len(sts) == 0 {
		return nil
	}
	return sts
}
