package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

// commentsService builds the comments service on st with the keys and mail
// transport the newsletter uses.
func (a *app) commentsService(st store.Store, keys *secrets.Keys, tr mail.Transport) (*comments.Service, error) {
	var m *comments.Metrics
	if a.metrics != nil {
		m = comments.NewMetrics(a.metrics)
	}
	return comments.NewService(comments.Options{
		Store:           st,
		Stories:         st,
		Keys:            keys,
		Mail:            tr,
		BaseURL:         a.cfg.BaseURL,
		From:            a.cfg.From,
		Moderator:       a.cfg.Moderator,
		ModerationWords: wordList(a.cfg.ModerationWords),
		BlockWords:      wordList(a.cfg.BlockWords),
		Logger:          a.logger(),
		Metrics:         m,
	})
}

// wordList splits a comma-separated setting.
func wordList(s string) []string {
	var out []string
	for w := range strings.SplitSeq(s, ",") {
		if w = strings.TrimSpace(w); w != "" {
			out = append(out, w)
		}
	}
	return out
}

// withComments opens the store and the comments service for a command.
// When fn changes what the site shows (moderation), the running `tidings
// serve` processes are told after it succeeds, so they show it at once.
func (a *app) withComments(ctx context.Context, changes bool, fn func(svc *comments.Service) error) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	_, keys, tr, err := a.newsletterService(st)
	if err != nil {
		return err
	}
	defer tr.Close()
	svc, err := a.commentsService(st, keys, tr)
	if err != nil {
		return err
	}
	if err := fn(svc); err != nil || !changes {
		return err
	}
	announceChange(ctx, st, a.logger())
	return nil
}

// announceChange tells the processes serving st that stored content changed,
// so that they drop their cached pages now rather than after
// --cache-max-age. A failure only delays the change on the site: it is
// logged, not returned.
func announceChange(ctx context.Context, st store.Store, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := st.PublishChange(ctx); err != nil {
		logger.Warn("could not tell running sites about the change; it shows once their page cache expires (--cache-max-age)", "err", err)
	}
}

func commentsCommands() []*command {
	moderate := func(name, summary string, act func(*comments.Service, context.Context, int64) (comments.Comment, error)) *command {
		return &command{name: name, usage: "ID", summary: summary, run: func(ctx context.Context, a *app, args []string) error {
			id, err := commentID(a, args)
			if err != nil {
				return err
			}
			return a.withComments(ctx, true, func(svc *comments.Service) error {
				c, err := act(svc, ctx, id)
				if err != nil {
					return moderationError(id, err)
				}
				fmt.Fprintf(a.stdout, "comment %d is now %s\n", c.ID, c.Status)
				return nil
			})
		}}
	}
	return []*command{
		{name: "pending", summary: "print the comments held for moderation, one a line, ID first", run: cmdCommentsPending},
		moderate("approve", "publish a comment", (*comments.Service).Approve),
		moderate("reject", "turn a comment down (kept, never shown)", (*comments.Service).Reject),
		moderate("spam", "mark a comment as spam", (*comments.Service).MarkSpam),
		{name: "delete", usage: "ID", summary: "erase a comment", run: func(ctx context.Context, a *app, args []string) error {
			id, err := commentID(a, args)
			if err != nil {
				return err
			}
			return a.withComments(ctx, true, func(svc *comments.Service) error {
				if err := svc.Delete(ctx, id); err != nil {
					return moderationError(id, err)
				}
				fmt.Fprintf(a.stdout, "comment %d is erased\n", id)
				return nil
			})
		}},
	}
}

func commentID(a *app, args []string) (int64, error) {
	if len(args) != 1 {
		return 0, a.usageError("give one comment ID (see 'tidings comments pending')")
	}
	id, err := strconv.ParseInt(args[0], 10, 64)
	if err != nil || id <= 0 {
		return 0, a.usageError("%q is not a comment ID", args[0])
	}
	return id, nil
}

func moderationError(id int64, err error) error {
	switch {
	case errors.Is(err, comments.ErrNotFound):
		return fmt.Errorf("there is no comment %d", id)
	case errors.Is(err, comments.ErrConflict):
		return fmt.Errorf("comment %d was changed by someone else meanwhile; look again with 'tidings comments pending'", id)
	}
	return err
}

func cmdCommentsPending(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("comments pending takes no arguments, got %q", args)
	}
	return a.withComments(ctx, false, func(svc *comments.Service) error {
		held, err := svc.Pending(ctx)
		if err != nil {
			return err
		}
		for _, c := range held {
			fmt.Fprintf(a.stdout, "%d\tstory %d\t%s\t%s\t%s\t%s\n", c.ID, c.StoryID, c.CreatedAt.Format("2006-01-02 15:04"),
				comments.OneLine(c.Author, 40), c.Reason, comments.OneLine(c.Body, 80))
		}
		if len(held) == 0 {
			fmt.Fprintln(a.stderr, "no comment is waiting for moderation")
		}
		return nil
	})
}
