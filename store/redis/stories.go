package redis

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tidings/tidings/feeds"
)

// claimScript makes a story reachable: it claims the story's dedupe keys,
// adds it to its index sets and, when it is searchable, to the search docs,
// or does nothing when another story holds a key. Everything it touches is
// in the {stories} slot, so it is all or nothing.
// KEYS: dedupe hash, search docs hash, search token total, then the index
// sets. ARGV: story ID, index member, search length (0: not searchable),
// search docs entry, then the dedupe keys in DedupeKeys order. Returns the ID
// of the story that owns the keys: ARGV[1] when this call (or an earlier,
// resent copy of it) won.
var claimScript = goredis.NewScript(`
for i = 5, #ARGV do
  local owner = redis.call('HGET', KEYS[1], ARGV[i])
  if owner and owner ~= ARGV[1] then return tonumber(owner) end
end
for i = 5, #ARGV do redis.call('HSET', KEYS[1], ARGV[i], ARGV[1]) end
for i = 4, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[2]) end
if tonumber(ARGV[3]) > 0 and redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[4]) == 1 then
  redis.call('INCRBY', KEYS[3], ARGV[3])
end
return tonumber(ARGV[1])
`)

// setSimilarScript replaces the similar field of an existing story.
// KEYS: story hash. ARGV: JSON list. Returns 0 when the story is absent.
var setSimilarScript = goredis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'similar', ARGV[1])
return 1
`)

// indexSets names the sorted sets a story belongs to: each of its views
// times each of its dimensions (all, source, tags, cluster).
func (s *Store) indexSets(st feeds.Story) []string {
	views := []string{viewAny}
	leader := st.ClusterID == 0
	if st.Visible {
		views = append(views, viewVisible)
	}
	if leader {
		views = append(views, viewLeaders)
	}
	if st.Visible && leader {
		views = append(views, viewVisibleLeaders)
	}
	var sets []string
	for _, v := range views {
		sets = append(sets, s.k.storiesAll(v), s.k.storiesBySource(v, st.SourceID))
		for _, t := range st.Tags {
			sets = append(sets, s.k.storiesByTag(v, t))
		}
		if !leader {
			sets = append(sets, s.k.storiesByCluster(v, st.ClusterID))
		}
	}
	return sets
}

// Story returns the story with the given ID or ErrNotFound.
func (s *Store) Story(ctx context.Context, id int64) (feeds.Story, error) {
	m, err := s.c.HGetAll(ctx, s.k.story(id)).Result()
	if err != nil {
		return feeds.Story{}, fmt.Errorf("redis: story %d: %w", id, err)
	}
	if len(m) == 0 {
		return feeds.Story{}, fmt.Errorf("redis: story %d: %w", id, feeds.ErrNotFound)
	}
	st, err := parseStory(id, m)
	if err != nil {
		return feeds.Story{}, fmt.Errorf("redis: story %d: %w", id, err)
	}
	return st, nil
}

// SetSimilar replaces a story's Similar list.
func (s *Store) SetSimilar(ctx context.Context, id int64, similar []feeds.Related) error {
	b, err := json.Marshal(similar)
	if err != nil {
		return fmt.Errorf("redis: set similar of %d: %w", id, err)
	}
	n, err := setSimilarScript.Run(ctx, s.c, []string{s.k.story(id)}, string(b)).Int()
	if err == nil && n == 0 {
		err = feeds.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("redis: set similar of %d: %w", id, err)
	}
	return nil
}

// loadStories reads the bodies of ids in one pipeline, in the order given,
// skipping IDs that have no body.
func (s *Store) loadStories(ctx context.Context, ids []int64) ([]feeds.Story, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.k.story(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]feeds.Story, 0, len(ids))
	for i, cmd := range cmds {
		if len(cmd.Val()) == 0 {
			continue
		}
		st, err := parseStory(ids[i], cmd.Val())
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// storyFields is the stored form of a story.
func storyFields(st feeds.Story) ([]any, error) {
	tags, err := json.Marshal(st.Tags)
	if err != nil {
		return nil, err
	}
	similar, err := json.Marshal(st.Similar)
	if err != nil {
		return nil, err
	}
	return []any{
		"source_id", st.SourceID,
		"guid", st.GUID,
		"url", st.URL,
		"title", st.Title,
		"summary", st.Summary,
		"content", st.Content,
		"author", st.Author,
		"published_at", formatTime(st.PublishedAt),
		"first_seen_at", formatTime(st.FirstSeenAt),
		"relevance", strconv.FormatFloat(st.Relevance, 'g', -1, 64),
		"tags", string(tags),
		"visible", boolText(st.Visible),
		"cluster_id", st.ClusterID,
		"similar", string(similar),
	}, nil
}

func parseStory(id int64, m map[string]string) (feeds.Story, error) {
	st := feeds.Story{
		ID:      id,
		GUID:    m["guid"],
		URL:     m["url"],
		Title:   m["title"],
		Summary: m["summary"],
		Content: m["content"],
		Author:  m["author"],
		Visible: m["visible"] == "1",
	}
	var err error
	if st.SourceID, err = strconv.ParseInt(m["source_id"], 10, 64); err != nil {
		return feeds.Story{}, fmt.Errorf("stored source_id: %w", err)
	}
	if st.ClusterID, err = strconv.ParseInt(m["cluster_id"], 10, 64); err != nil {
		return feeds.Story{}, fmt.Errorf("stored cluster_id: %w", err)
	}
	if st.Relevance, err = strconv.ParseFloat(m["relevance"], 64); err != nil {
		return feeds.Story{}, fmt.Errorf("stored relevance: %w", err)
	}
	if st.PublishedAt, err = parseTime(m["published_at"]); err != nil {
		return feeds.Story{}, err
	}
	if st.FirstSeenAt, err = parseTime(m["first_seen_at"]); err != nil {
		return feeds.Story{}, err
	}
	if err := json.Unmarshal([]byte(m["tags"]), &st.Tags); err != nil {
		return feeds.Story{}, fmt.Errorf("stored tags: %w", err)
	}
	st.Tags = feeds.NormaliseTags(st.Tags)
	if err := json.Unmarshal([]byte(m["similar"]), &st.Similar); err != nil {
		return feeds.Story{}, fmt.Errorf("stored similar: %w", err)
	}
	if len(st.Similar) == 0 {
		st.Similar = nil
	}
	return st, nil
}
