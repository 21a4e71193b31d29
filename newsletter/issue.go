package newsletter

import (
	"context"
	"errors"
	"fmt"
)

// IssueFor returns the issue of week ("2026-W48"; empty: the current week).
// The current week's issue is composed and stored on first use, so that a
// preview, a send, a resumed send and the web archive all show the same
// issue; an earlier week must have been composed in its own week.
func (s *Service) IssueFor(ctx context.Context, week string) (Issue, error) {
	now := s.now()
	current := WeekOf(now)
	if week == "" {
		week = current
	}
	w, err := ParseWeek(week)
	if err != nil {
		return Issue{}, err
	}
	is, err := s.o.Store.Issue(ctx, w)
	if err == nil || !errors.Is(err, ErrNotFound) {
		return is, err
	}
	if w != current {
		return Issue{}, fmt.Errorf("newsletter: no issue was composed in week %s (only the current week, %s, can be composed now): %w", w, current, ErrNotFound)
	}
	if s.o.Stories == nil {
		return Issue{}, errors.New("newsletter: no story store to compose an issue from")
	}
	is, err = Compose(ctx, s.o.Stories, now, ComposeOptions{
		SiteName: s.o.SiteName,
		BaseURL:  s.base,
		Comments: s.o.Comments,
	})
	if err != nil {
		return Issue{}, err
	}
	is, _, err = s.o.Store.SaveIssue(ctx, is)
	if err != nil {
		return Issue{}, fmt.Errorf("newsletter: storing issue %s: %w", w, err)
	}
	return is, nil
}
