package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/views"
)

// cmdServe runs the web site and, unless told not to, the feed poller, until
// the process is asked to stop.
func cmdServe(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("serve takes no arguments, got %q", args)
	}
	logger := a.logger()
	st, err := a.openStoreWithSources(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a.metrics = reg
	st = store.Instrument(st, reg)

	svc, keys, tr, err := a.newsletterService(st)
	if err != nil {
		return err
	}
	defer tr.Close()
	discussion, err := a.commentsService(st, keys, tr)
	if err != nil {
		return err
	}
	adminSvc, err := a.adminService(st, keys)
	if err != nil {
		return err
	}
	schedule, err := newsletter.ParseSchedule(a.cfg.DigestSchedule)
	if err != nil {
		return err
	}

	// One setting for a send, whether the schedule or the admin page starts it.
	sendOpts := newsletter.SendOptions{Workers: a.cfg.SMTPConnections, Lease: a.cfg.DigestLease}
	var poller *feeds.Poller // set below, before the server serves
	srv, err := views.New(views.Options{
		Stories:     st,
		Ready:       st.Ping,
		Metrics:     reg,
		Logger:      logger,
		BaseURL:     a.cfg.BaseURL,
		TrustProxy:  a.cfg.TrustProxy,
		Newsletter:  svc,
		Comments:    discussion,
		Admin:       adminSvc,
		Forms:       keys,
		CacheMaxAge: a.cfg.CacheMaxAge,
		Changes:     st,
		NextDigest:  schedule.Next,
		DigestSend:  sendOpts,
		// The admin's feed discovery fetches as the poller does: same
		// guard, limits and --allow-private-feeds.
		Discover: feeds.NewFetcher(feeds.FetchOptions{
			UserAgent: feeds.UserAgent(versionString(), a.cfg.BaseURL), AllowPrivate: a.cfg.AllowPrivateFeeds,
		}).Discover,
		PollSoon: func() {
			if poller != nil {
				poller.Trigger()
			}
		},
	})
	if err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	if !a.cfg.NoPoll {
		poller = a.newPoller(st, feeds.NewMetrics(reg), logger, srv.Invalidate)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := poller.Warm(ctx); err != nil {
				logger.Warn("loading recent stories for Similar Posts", "err", err)
			}
			if err := poller.Run(ctx); err != nil {
				errs <- fmt.Errorf("poller: %w", err)
				cancel()
			}
		}()
	}
	if !a.cfg.NoDigest {
		wg.Go(func() {
			err := svc.RunSchedule(ctx, newsletter.ScheduleOptions{
				Schedule: schedule,
				Send:     sendOpts,
			})
			if err != nil {
				errs <- fmt.Errorf("digest schedule: %w", err)
				cancel()
			}
		})
	}
	wg.Go(func() { forgetIPs(ctx, discussion, logger) })
	logger.Info("tidings is running", "version", versionString(), "addr", a.cfg.Addr, "base_url", a.cfg.BaseURL, "store", storeKind(a.cfg.Store), "poll", !a.cfg.NoPoll, "digest", !a.cfg.NoDigest, "mail", mailKind(a.cfg.SMTP))
	if err := srv.Run(ctx, a.cfg.Addr); err != nil {
		errs <- err
		cancel()
	}
	cancel()
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// forgetIPs erases the keyed hashes of commenters' addresses once they are
// 30 days old, at start and then every hour, until ctx is cancelled.
func forgetIPs(ctx context.Context, svc *comments.Service, logger *slog.Logger) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := svc.ForgetIPs(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("erasing old commenters' IP hashes", "err", err)
		} else if n > 0 {
			logger.Info("erased old commenters' IP hashes", "comments", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// openStore opens the store named by --store.
func (a *app) openStore(ctx context.Context) (store.Store, error) {
	st, err := store.Open(ctx, a.cfg.Store)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", storeKind(a.cfg.Store), err)
	}
	return st, nil
}

// openStoreWithSources opens the store and loads the sources a polling
// process starts with (see loadSources).
func (a *app) openStoreWithSources(ctx context.Context) (store.Store, error) {
	st, err := a.openStore(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.loadSources(ctx, st); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// newPoller builds the feed poller from the settings.
func (a *app) newPoller(st feeds.Store, m *feeds.Metrics, logger *slog.Logger, onNewStories func()) *feeds.Poller {
	return feeds.NewPoller(st, feeds.NewClassifier(), feeds.NewRelater(5000), feeds.PollerOptions{
		Interval:     a.cfg.PollInterval,
		Workers:      a.cfg.PollWorkers,
		PerHost:      2,
		UserAgent:    feeds.UserAgent(versionString(), a.cfg.BaseURL),
		AllowPrivate: a.cfg.AllowPrivateFeeds,
		Logger:       logger,
		Metrics:      m,
		OnNewStories: onNewStories,
	})
}

func (a *app) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(a.stderr, nil))
}

// storeKind names a store URL without its credentials, for logs and errors.
func storeKind(raw string) string {
	scheme, _, ok := strings.Cut(raw, ":")
	switch {
	case !ok:
		return "?"
	case scheme == "sqlite":
		return raw
	}
	return scheme
}

// mailKind says where mail goes, without credentials, for the start-up log.
func mailKind(smtpURL string) string {
	if smtpURL == "" {
		return "outbox"
	}
	return storeKind(smtpURL)
}
