package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tidings/tidings/mail"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
)

// secretKeyEnv names the variable that gives the site's secret key.
const secretKeyEnv = "TIDINGS_SECRET_KEY"

// keys loads the site's secret key from TIDINGS_SECRET_KEY, or from
// DATA/secret.key, creating that file the first time.
func (a *app) keys() (*secrets.Keys, error) {
	return secrets.Load(a.cfg.Data, os.Getenv(secretKeyEnv))
}

// newsletterService builds the newsletter from the settings: the keys (from
// TIDINGS_SECRET_KEY or DATA/secret.key) and the mail transport (--smtp or
// the outbox). Close the returned transport when done.
func (a *app) newsletterService(st store.Store) (*newsletter.Service, *secrets.Keys, mail.Transport, error) {
	keys, err := a.keys()
	if err != nil {
		return nil, nil, nil, err
	}
	rate := a.cfg.SMTPRate
	if rate <= 0 {
		rate = -1 // no limit
	}
	tr, err := mail.Open(a.cfg.SMTP, filepath.Join(a.cfg.Data, "outbox"), mail.Options{
		Connections: a.cfg.SMTPConnections,
		Rate:        rate,
	})
	if err != nil {
		return nil, nil, nil, err
	}
	if a.metrics != nil {
		tr = mail.Instrument(tr, mail.NewMetrics(a.metrics))
	}
	svc, err := newsletter.NewService(newsletter.Options{
		Store:   st,
		Stories: st,
		Keys:    keys,
		Mail:    tr,
		BaseURL: a.cfg.BaseURL,
		From:    a.cfg.From,
		Logger:  a.logger(),
	})
	if err != nil {
		tr.Close()
		return nil, nil, nil, err
	}
	return svc, keys, tr, nil
}

// withNewsletter opens the store and the newsletter for a command and closes
// both after fn.
func (a *app) withNewsletter(ctx context.Context, fn func(svc *newsletter.Service) error) error {
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, _, tr, err := a.newsletterService(st)
	if err != nil {
		return err
	}
	defer tr.Close()
	return fn(svc)
}

func digestCommands() []*command {
	week := func(fs *flag.FlagSet, c *Config) {
		fs.StringVar(&c.Week, "week", "", "the issue's ISO week, e.g. 2026-W48 (default: this week's, composed now if need be)")
	}
	return []*command{
		{name: "preview", usage: "[--week 2026-W48] [--out DIR]", summary: "write the issue's HTML and text to stdout, or as files to DIR", flags: func(fs *flag.FlagSet, c *Config) {
			week(fs, c)
			fs.StringVar(&c.Out, "out", "", "directory to write WEEK.html and WEEK.txt to")
		}, run: cmdDigestPreview},
		{name: "send", usage: "[--week 2026-W48] [--dry-run]", summary: "send the issue to every confirmed subscriber; resumes an interrupted send", flags: func(fs *flag.FlagSet, c *Config) {
			week(fs, c)
			fs.BoolVar(&c.DryRun, "dry-run", false, "only count who would receive it")
		}, run: cmdDigestSend},
	}
}

func cmdDigestPreview(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("digest preview takes no arguments, got %q", args)
	}
	return a.withNewsletter(ctx, func(svc *newsletter.Service) error {
		is, err := svc.IssueFor(ctx, a.cfg.Week)
		if err != nil {
			return err
		}
		if a.cfg.Out == "" {
			fmt.Fprintf(a.stdout, "Subject: %s\n\n%s\n\n%s", is.Subject, is.Text, is.HTML)
			return nil
		}
		if err := os.MkdirAll(a.cfg.Out, 0o750); err != nil {
			return err
		}
		for ext, body := range map[string]string{".html": is.HTML, ".txt": "Subject: " + is.Subject + "\n\n" + is.Text} {
			p := filepath.Join(a.cfg.Out, is.Week+ext)
			if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "wrote", p)
		}
		return nil
	})
}

func cmdDigestSend(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("digest send takes no arguments, got %q", args)
	}
	return a.withNewsletter(ctx, func(svc *newsletter.Service) error {
		if a.cfg.DryRun {
			n, err := svc.DryRun(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "dry run: %d confirmed subscribers would receive the issue; nothing was sent\n", n)
			return nil
		}
		bar := newProgress(a.stderr, "sending")
		rep, err := svc.Send(ctx, a.cfg.Week, newsletter.SendOptions{
			Workers:  a.cfg.SMTPConnections,
			Lease:    a.cfg.DigestLease,
			Progress: func(r newsletter.SendReport) { bar.update(r.Done(), r.Planned) },
		})
		bar.done()
		fmt.Fprintf(a.stdout, "issue %s: sent %d, failed %d, bounced %d, skipped %d, still owed %d\n",
			rep.Week, rep.Sent, rep.Failed, rep.Bounced, rep.Skipped, rep.Pending)
		return err
	})
}

func subscribersCommands() []*command {
	return []*command{
		{name: "list", summary: "print every subscriber: address and status", run: cmdSubscribersList},
		{name: "import", usage: "FILE", summary: "add the addresses of a CSV (first column) as confirmed subscribers (- for stdin)", run: cmdSubscribersImport},
		{name: "export", summary: "write every subscriber as CSV to stdout", run: cmdSubscribersExport},
		{name: "remove", usage: "EMAIL", summary: "erase every trace of an address", run: cmdSubscribersRemove},
	}
}

func cmdSubscribersList(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("subscribers list takes no arguments, got %q", args)
	}
	return a.withNewsletter(ctx, func(svc *newsletter.Service) error {
		return svc.EachSubscriber(ctx, "", func(sub newsletter.Subscriber, addr string) error {
			_, err := fmt.Fprintf(a.stdout, "%s\t%s\n", addr, sub.Status)
			return err
		})
	})
}

func cmdSubscribersImport(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return a.usageError("subscribers import takes one file (- for stdin)")
	}
	var r io.Reader = a.stdin
	if args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	return a.withNewsletter(ctx, func(svc *newsletter.Service) error {
		rep, err := svc.Import(ctx, r, func(line int, err error) {
			fmt.Fprintf(a.stderr, "line %d: %v\n", line, err)
		})
		fmt.Fprintf(a.stdout, "added %d, confirmed %d pending, %d already confirmed, %d kept as unsubscribed or bounced, %d bad rows\n",
			rep.Added, rep.Confirmed, rep.Known, rep.Kept, rep.Bad)
		return err
	})
}

func cmdSubscribersExport(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("subscribers export takes no arguments, got %q", args)
	}
	return a.withNewsletter(ctx, func(svc *newsletter.Service) error {
		return svc.Export(ctx, a.stdout)
	})
}

func cmdSubscribersRemove(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
		return a.usageError("subscribers remove takes one address")
	}
	return a.withNewsletter(ctx, func(svc *newsletter.Service) error {
		err := svc.Remove(ctx, args[0])
		if errors.Is(err, newsletter.ErrNotFound) {
			return fmt.Errorf("no subscriber has that address")
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, "erased the subscriber and every delivery record of it")
		return nil
	})
}
