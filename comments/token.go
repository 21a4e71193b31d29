package comments

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OwnToken makes the value of the cookie that lets a visitor see their own
// held comments: the latest OwnMax of ids (positive, each once, in the order
// given), signed, valid for OwnValidity. No IDs give "" (no cookie). Views
// add a new comment with OwnToken(append(ParseOwnToken(old), c.ID)).
func (s *Service) OwnToken(ids []int64) string {
	ids = ownIDs(ids)
	if len(ids) == 0 {
		return ""
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return s.o.Keys.Sign(purposeOwn, strings.Join(parts, ","), s.now().Add(OwnValidity))
}

// ParseOwnToken reads a cookie made by OwnToken. A missing, forged, damaged
// or expired cookie gives no IDs, never an error: the visitor just sees no
// held comment.
func (s *Service) ParseOwnToken(token string) []int64 {
	if token == "" {
		return nil
	}
	payload, err := s.o.Keys.Verify(purposeOwn, token, s.now())
	if err != nil {
		return nil
	}
	var ids []int64
	for part := range strings.SplitSeq(payload, ",") {
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return nil // signed by us, so never; but refuse rather than guess
		}
		ids = append(ids, id)
	}
	return ownIDs(ids)
}

// ownIDs keeps the positive IDs, each at its last place, and at most the
// last OwnMax of them.
func ownIDs(ids []int64) []int64 {
	var out []int64
	for i, id := range ids {
		if id > 0 && !slices.Contains(ids[i+1:], id) {
			out = append(out, id)
		}
	}
	if len(out) > OwnMax {
		out = out[len(out)-OwnMax:]
	}
	return out
}

// stopURL is the one-click link in a reply notification that stops them
// for comment id. It never expires: an old mail's link must still work.
func (s *Service) stopURL(id int64) string {
	return s.base + "/comments/stop?token=" + s.o.Keys.Sign(purposeNotify, strconv.FormatInt(id, 10), time.Time{})
}

// notifyTarget reads a stop link's token: the ID of the comment it names.
func (s *Service) notifyTarget(token string) (int64, error) {
	payload, err := s.o.Keys.Verify(purposeNotify, token, s.now())
	if err != nil {
		return 0, ErrBadToken
	}
	id, err := strconv.ParseInt(payload, 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrBadToken
	}
	return id, nil
}

// CheckStopNotify validates a stop link's token without changing anything
// (mail scanners follow links; the page asks for a button press).
func (s *Service) CheckStopNotify(ctx context.Context, token string) error {
	_, err := s.notifyTarget(token)
	return err
}

// StopNotify turns off reply notifications for the comment a stop link
// names (the RFC 8058 one-click POST, or the button on the page). Repeating
// it, or using the link of a comment since deleted, is harmless. A bad token
// gives ErrBadToken.
func (s *Service) StopNotify(ctx context.Context, token string) error {
	id, err := s.notifyTarget(token)
	if err != nil {
		return err
	}
	err = s.o.Store.SetNotify(ctx, id, false)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("comments: stopping notifications for comment %d: %w", id, err)
	}
	return nil
}
