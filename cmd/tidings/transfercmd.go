package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tidings/tidings/secrets"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/store/transfer"
)

// exportCommand is `tidings export [--out FILE]`.
func exportCommand() *command {
	return &command{name: "export", usage: "[--out FILE]",
		summary: "write the whole store as JSON lines: a backup, or the way to another store",
		flags: func(fs *flag.FlagSet, c *Config) {
			fs.StringVar(&c.Out, "out", "", "file to write (default: standard output); written in full or not at all")
		}, run: cmdExport}
}

// importCommand is `tidings import FILE|- [--force]`.
func importCommand() *command {
	var force bool
	return &command{name: "import", usage: "FILE|- [--force]",
		summary: "read an export into an empty store (give it the secret key of the exported site)",
		flags: func(fs *flag.FlagSet, _ *Config) {
			fs.BoolVar(&force, "force", false, "import into a store that is not empty, to finish an import that was cut short (records already there are kept)")
		}, run: func(ctx context.Context, a *app, args []string) error { return cmdImport(ctx, a, args, force) }}
}

func cmdExport(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return a.usageError("export takes no arguments (write to a file with --out FILE), got %q", args)
	}
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	d, ok := st.(transfer.Dumper)
	if !ok {
		return fmt.Errorf("the store %s cannot be exported", storeKind(a.cfg.Store))
	}
	o := transfer.ExportOptions{}
	keys, err := a.existingKeys()
	if err != nil {
		return err
	}
	if keys != nil {
		o.KeyCheck = keys.Seal(transfer.KeyCheckText)
	}
	bar := newProgress(a.stderr, "exporting")
	o.Progress = func(c transfer.Counts) { bar.count(c.Total()) }
	toStdout := a.cfg.Out == "" || a.cfg.Out == "-"
	var counts transfer.Counts
	if toStdout {
		counts, err = transfer.Export(ctx, d, a.stdout, o)
	} else {
		err = writeAtomically(a.cfg.Out, func(w io.Writer) error {
			counts, err = transfer.Export(ctx, d, w, o)
			return err
		})
	}
	bar.done()
	if err != nil {
		return err
	}
	summary := a.stdout
	if toStdout {
		summary = a.stderr
	}
	fmt.Fprintf(summary, "exported %s from %s\n", counts, storeKind(a.cfg.Store))
	return nil
}

// writeAtomically writes a file through fn: to a temporary file beside it,
// renamed over it only when fn and the writes succeeded, so that a failed
// export never leaves a file that looks like one. The file is private (0600):
// it holds sealed addresses and hashes.
func writeAtomically(path string, fn func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tidings-export-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = fn(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func cmdImport(ctx context.Context, a *app, args []string, force bool) error {
	if len(args) != 1 {
		return a.usageError("import takes one file (or - for standard input)")
	}
	name := args[0]
	in, total, err := a.openExport(name)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, ok := st.(transfer.Restorer)
	if !ok {
		return fmt.Errorf("the store %s cannot be imported into", storeKind(a.cfg.Store))
	}
	bar := newProgress(a.stderr, "importing")
	o := transfer.ImportOptions{Force: force, CheckKey: a.checkKey, Progress: func(c transfer.Counts) {
		if total > 0 {
			bar.update(c.Total(), total)
		} else {
			bar.count(c.Total())
		}
	}}
	written, err := transfer.Import(ctx, r, in, o)
	bar.done()
	if err != nil {
		return a.importFailed(name, st, written, err)
	}
	fmt.Fprintf(a.stdout, "imported %s into %s\n", written, storeKind(a.cfg.Store))
	return nil
}

// openExport opens the file to import. A file (not standard input) is
// checked in full first, so that a damaged one is refused before anything
// is written; total is then its number of records.
func (a *app) openExport(name string) (io.ReadCloser, int, error) {
	if name == "-" {
		return io.NopCloser(a.stdin), 0, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, err
	}
	counts, err := transfer.Check(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w; nothing was imported", name, err)
	}
	return f, counts.Total(), nil
}

// importFailed explains a failed import: what was written before it
// stopped, and how to go on.
func (a *app) importFailed(name string, st store.Store, written transfer.Counts, err error) error {
	if errors.Is(err, transfer.ErrNotEmpty) {
		return fmt.Errorf("the store %s is not empty: import into a new, empty store (or add --force to finish an import of this file that was cut short)", storeKind(a.cfg.Store))
	}
	if written.Total() == 0 {
		return fmt.Errorf("%s: %w; nothing was imported", name, err)
	}
	fmt.Fprintf(a.stderr, "tidings: the import stopped after writing %s\n", written)
	fmt.Fprintf(a.stderr, "tidings: the store %s now holds part of the export: run the same import again with --force to finish it (records already there are kept), or empty the store and start over\n", storeKind(a.cfg.Store))
	return fmt.Errorf("%s: %w", name, err)
}

// existingKeys loads the site's secret key if it has one (TIDINGS_SECRET_KEY
// or DATA/secret.key), without creating a key file; nil when there is none.
func (a *app) existingKeys() (*secrets.Keys, error) {
	env := os.Getenv(secretKeyEnv)
	if env == "" {
		if _, err := os.Stat(filepath.Join(a.cfg.Data, secrets.KeyFile)); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	return secrets.Load(a.cfg.Data, env)
}

// checkKey verifies that this site's secret key opens the export's key
// check: the sealed addresses it holds are readable here.
func (a *app) checkKey(sealed []byte) error {
	keys, err := a.existingKeys()
	if err != nil {
		return err
	}
	if keys == nil {
		return fmt.Errorf("this site has no secret key yet: give it the key of the exported site first (copy its %s into %s, or set TIDINGS_SECRET_KEY), or no stored address could be read", secrets.KeyFile, a.cfg.Data)
	}
	if _, err := keys.Open(sealed); err != nil {
		return fmt.Errorf("the export was made with another secret key than this site's (TIDINGS_SECRET_KEY or %s): give this site the exported site's key, or no stored address could be read", filepath.Join(a.cfg.Data, secrets.KeyFile))
	}
	return nil
}

// count shows a running count where the total is not known.
func (p *progress) count(n int) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r%s: %d records", p.label, n)
	p.drawn = true
}
