package redis

import (
	"context"
	"errors"

	"github.com/tidings/tidings/feeds"
)

// AddStories stores each story as AddStory does, in order. Each story is its
// own atomic step: stories live in different hash slots on a cluster.
func (s *Store) AddStories(ctx context.Context, sts []feeds.Story) ([]feeds.Added, error) {
	out := make([]feeds.Added, len(sts))
	for i, st := range sts {
		stored, created, err := s.AddStory(ctx, st)
		if err != nil {
			return nil, err
		}
		out[i] = feeds.Added{Story: stored, Created: created}
	}
	return out, nil
}

// SetSimilarMany replaces several Similar lists; IDs not stored are skipped.
func (s *Store) SetSimilarMany(ctx context.Context, lists map[int64][]feeds.Related) error {
	for id, similar := range lists {
		if err := s.SetSimilar(ctx, id, similar); err != nil && !errors.Is(err, feeds.ErrNotFound) {
			return err
		}
	}
	return nil
}
