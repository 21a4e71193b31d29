// Command tidings runs the Tidings site and its tools: the web server, the feed
// poller and the commands that manage sources.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = ""

// command is one entry of the command table: `tidings NAME …`.
type command struct {
	name    string
	usage   string // arguments after the name
	summary string
	// flags registers the command's flags on fs (common flags are added for it).
	flags func(fs *flag.FlagSet, c *Config)
	run   func(ctx context.Context, a *app, args []string) error
	// sub, when set, makes this a group: `tidings NAME SUB …`.
	sub []*command
}

// app is what a command runs with: its streams and the parsed settings.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	cfg            Config
	// metrics, set by serve, is where the services count what they do
	// (served at /metrics); nil for the other commands: nothing is counted.
	metrics *prometheus.Registry
}

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command line and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	// No command, or flags only: serve.
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelp(args[0]) {
		args = append([]string{"serve"}, args...)
	}
	err := a.dispatch(ctx, commands(), nil, args)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(stderr, "tidings:", err)
		return 1
	}
}

func (a *app) dispatch(ctx context.Context, table []*command, path []string, args []string) error {
	name := args[0]
	if isHelp(name) {
		a.printHelp(a.stdout, table, path)
		return nil
	}
	var cmd *command
	for _, c := range table {
		if c.name == name {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(a.stderr, "tidings: unknown command %q\n\n", joinPath(path, name))
		a.printHelp(a.stderr, table, path)
		return errUsage
	}
	path = append(path, name)
	if cmd.sub != nil {
		if len(args) < 2 {
			a.printHelp(a.stderr, cmd.sub, path)
			return errUsage
		}
		return a.dispatch(ctx, cmd.sub, path, args[1:])
	}
	fs := flag.NewFlagSet("tidings "+joinPath(path[:len(path)-1], name), flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	commonFlags(fs, &a.cfg)
	if cmd.flags != nil {
		cmd.flags(fs, &a.cfg)
	}
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: tidings %s %s\n\n%s\n\nFlags (each also read from TIDINGS_<FLAG>):\n", joinPath(path[:len(path)-1], name), cmd.usage, cmd.summary)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		var envErr *envError
		if errors.As(err, &envErr) { // the flag package has printed its own errors
			fmt.Fprintln(a.stderr, "tidings:", err)
		}
		return errUsage
	}
	return cmd.run(ctx, a, fs.Args())
}

func joinPath(path []string, name string) string {
	s := ""
	for _, p := range path {
		s += p + " "
	}
	return s + name
}

func isHelp(arg string) bool {
	return arg == "help" || arg == "-h" || arg == "--help" || arg == "-help"
}

func (a *app) printHelp(w io.Writer, table []*command, path []string) {
	prefix := joinPath(path, "")
	fmt.Fprintf(w, "Tidings %s — a self-hosted tech-privacy news site.\n\nUsage: tidings %s<command> [flags]\n\nCommands:\n", versionString(), prefix)
	for _, c := range table {
		fmt.Fprintf(w, "  %-28s %s\n", c.name+" "+c.usage, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'tidings %s<command> -h' for its flags. Every flag can also be set with TIDINGS_<FLAG>.\n", prefix)
}

// usageError prints msg and the command's usage line, and returns errUsage.
func (a *app) usageError(format string, args ...any) error {
	fmt.Fprintf(a.stderr, "tidings: "+format+"\n", args...)
	return errUsage
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// commands is the command table. Later features add their groups here.
func commands() []*command {
	return []*command{
		{name: "serve", summary: "run the web site, the feed poller and the schedulers (the default)", flags: serveFlags, run: cmdServe},
		{name: "poll", usage: "[--once] [--all]", summary: "poll feeds: with --once, every due feed once, then exit", flags: pollFlags, run: cmdPoll},
		{name: "feeds", summary: "manage sources", sub: feedsCommands()},
		{name: "digest", summary: "preview or send the weekly digest", sub: digestCommands()},
		{name: "subscribers", summary: "manage newsletter subscribers", sub: subscribersCommands()},
		{name: "comments", summary: "moderate comments", sub: commentsCommands()},
		{name: "admin", summary: "set the admin password", sub: adminCommands()},
		exportCommand(),
		importCommand(),
		{name: "version", summary: "print the version", run: func(_ context.Context, a *app, _ []string) error {
			fmt.Fprintln(a.stdout, "tidings", versionString())
			return nil
		}},
	}
}
