package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// subscribeWait bounds the wait for the server to confirm a subscription.
const subscribeWait = 5 * time.Second

// changes is the pub/sub channel of change announcements; see keys.go.
func (k keys) changes() string { return k.p + "changes" }

// PublishChange tells every other process serving this store that stored
// content changed, so that they drop their cached pages: one PUBLISH, which
// a cluster relays to subscribers on every node.
func (s *Store) PublishChange(ctx context.Context) error {
	if err := s.c.Publish(ctx, s.k.changes(), s.id).Err(); err != nil {
		return fmt.Errorf("redis: publish change: %w", err)
	}
	return nil
}

// SubscribeChanges calls changed for every change another Store published,
// until ctx ends, and then returns nil. After a lost connection is restored
// it calls changed once, since announcements may have been missed meanwhile.
// It returns an error when it cannot subscribe or the subscription ends.
func (s *Store) SubscribeChanges(ctx context.Context, changed func()) error {
	ps := s.c.Subscribe(ctx, s.k.changes())
	defer ps.Close()
	first, cancel := context.WithTimeout(ctx, subscribeWait)
	_, err := ps.Receive(first) // the confirmation, or why there is none
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("redis: subscribe to changes: %w", err)
	}
	msgs := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return errors.New("redis: the subscription to changes was closed")
			}
			switch m := m.(type) {
			case *goredis.Subscription:
				changed() // subscribed again after a reconnection
			case *goredis.Message:
				if m.Payload != s.id {
					changed()
				}
			}
		}
	}
}
