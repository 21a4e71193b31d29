package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is every setting of the binary, parsed once from flags and TIDINGS_*
// environment variables and handed to each package as its own options.
type Config struct {
	Store             string
	Data              string
	Addr              string
	BaseURL           string
	Feeds             string
	AllowPrivateFeeds bool
	PollInterval      time.Duration
	PollWorkers       int
	TrustProxy        bool
	CacheMaxAge       time.Duration
	NoPoll            bool
	PollOnce          bool
	PollAll           bool
	OnTopic           bool

	// Newsletter.
	SMTP            string
	From            string
	SMTPConnections int
	SMTPRate        float64
	DigestSchedule  string
	DigestLease     time.Duration
	NoDigest        bool
	Week            string
	DryRun          bool
	Out             string

	// Comments.
	Moderator       string
	ModerationWords string
	BlockWords      string
}

// commonFlags registers the settings every command shares.
func commonFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Store, "store", "sqlite:./data/tidings.db", "where stories are kept: sqlite:PATH, redis://host:port/db, rediss://…, redis-cluster://host:port,host:port")
	fs.StringVar(&c.Data, "data", "./data", "directory for the outbox and generated secrets")
	fs.StringVar(&c.BaseURL, "base-url", "http://localhost:8080", "public URL of the site, used in links and the poller's User-Agent")
	fs.StringVar(&c.Feeds, "feeds", "", "file of sources to load at start (OPML or one URL a line); default: a built-in list of privacy news feeds, loaded once")
	fs.BoolVar(&c.AllowPrivateFeeds, "allow-private-feeds", false, "allow feed URLs on loopback and private addresses")
	fs.DurationVar(&c.PollInterval, "poll-interval", 30*time.Minute, "how often each feed is polled")
	fs.IntVar(&c.PollWorkers, "poll-workers", 8, "feeds fetched at once")
	fs.StringVar(&c.SMTP, "smtp", "", "mail server, smtp://[user:pass@]host:587 (STARTTLS when offered; ?tls=required or ?tls=none) or smtps://host:465; empty: write every message as an .eml file to DATA/outbox/")
	fs.StringVar(&c.From, "from", "", "sender of every mail, e.g. \"Tidings <news@example.org>\"; default: newsletter@ the --base-url host")
	fs.IntVar(&c.SMTPConnections, "smtp-connections", 4, "SMTP connections used at once by a send")
	fs.Float64Var(&c.SMTPRate, "smtp-rate", 20, "messages per second at most (0: no limit)")
	fs.StringVar(&c.Moderator, "moderator", "", "address mailed about each comment held for moderation (empty: none)")
	fs.StringVar(&c.ModerationWords, "moderation-words", "", "comma-separated words or phrases that hold a comment for moderation")
	fs.StringVar(&c.BlockWords, "block-words", "", "comma-separated words or phrases that mark a comment as spam")
	fs.DurationVar(&c.DigestLease, "digest-lease", 2*time.Minute, "how long a sender's claim on a batch of deliveries lasts; after a crash, its batch is sent by the next run once this has passed")
}

// serveFlags registers the settings of the web server.
func serveFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.Addr, "addr", ":8080", "address the web server listens on")
	fs.BoolVar(&c.TrustProxy, "trust-proxy", false, "take the client address from X-Forwarded-For (only behind a reverse proxy you run)")
	fs.DurationVar(&c.CacheMaxAge, "cache-max-age", 30*time.Second, "how long a cached page is served before it is rendered again, a safety net: changes made by this or another process sharing the store drop the cache at once")
	fs.BoolVar(&c.NoPoll, "no-poll", false, "do not poll feeds in this process")
	fs.StringVar(&c.DigestSchedule, "digest-schedule", "Mon 08:00 UTC", "when the weekly digest is composed and sent: DAY HH:MM [ZONE]")
	fs.BoolVar(&c.NoDigest, "no-digest", false, "do not send the weekly digest from this process")
}

// parseFlags parses args, flags and positional arguments in any order (as in
// `feeds add URL --on-topic`; after "--" everything is positional), then fills
// every flag not given on the command line from its TIDINGS_<FLAG> variable.
// The positional arguments are left in fs.Args().
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	if err := fs.Parse(append([]string{"--"}, positional...)); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envName(f.Name)
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = &envError{fmt.Errorf("%s=%q: %w", name, v, e)}
			}
		}
	})
	return err
}

// envName is the environment variable that sets a flag.
func envName(flagName string) string {
	return "TIDINGS_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// envError is a bad value in a TIDINGS_* variable.
type envError struct{ error }
