// Package sqlite stores Tidings' data in one SQLite file through the pure-Go
// driver modernc.org/sqlite, so the binary needs no C toolchain.
//
// The file is opened twice: a writer pool of exactly one connection whose
// transactions begin IMMEDIATE (so a read-then-write transaction waits for the
// lock instead of failing with SQLITE_BUSY), and a read-only pool for
// everything else. The journal is WAL, so readers never block the writer.
// Times are stored as UTC text in one fixed-width layout (see timeLayout), which
// sorts like the times themselves.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	sqlitedrv "modernc.org/sqlite" // registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tidings/tidings/feeds"
)

// Store implements feeds.Store on one SQLite database file.
type Store struct {
	write *sql.DB // one connection; transactions begin IMMEDIATE
	read  *sql.DB // query_only connections
	stmts stmts   // hot statements, prepared once
	// ownChange is the change counter this Store last wrote (changes.go).
	ownChange atomic.Int64
}

var _ feeds.Store = (*Store)(nil)

// Pragmas applied to every connection of both pools.
const commonPragmas = "_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"

// Open opens (creating it and its directory if needed) the database at path,
// brings its schema up to date and returns a Store ready for use.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: database path %q: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create directory for %q: %w", path, err)
	}
	uri := fileURI(abs)

	write, err := sql.Open("sqlite", uri+"?"+commonPragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxIdleTime(0)
	write.SetConnMaxLifetime(0)

	if err := enableWAL(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %q: %w", path, err)
	}
	if err := migrate(ctx, write); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: %q: %w", path, err)
	}

	// The journal mode is a property of the file, set above by the writer.
	read, err := sql.Open("sqlite", uri+"?"+commonPragmas+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %q for reading: %w", path, err)
	}
	n := max(4, runtime.NumCPU())
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	s := &Store{write: write, read: read}
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// enableWAL switches the file to WAL. The switch needs the file to itself
// and, when another process holds it, fails at once with SQLITE_BUSY whatever
// busy_timeout says (as a DSN pragma it would fail the connection), so it is
// retried here for up to walWait.
func enableWAL(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, walWait)
	defer cancel()
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("journal mode is %q after asking for WAL", mode)
			}
			return nil
		}
		var se *sqlitedrv.Error
		if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY {
			return fmt.Errorf("enable WAL: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("enable WAL: %w", err)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// walWait bounds how long Open waits for another process to let go of the
// file, as busy_timeout does for everything else.
const walWait = 5 * time.Second

// fileURI turns an absolute path into an SQLite URI filename, escaping the
// characters that would otherwise start the query or fragment.
func fileURI(abs string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23")
	return "file:" + r.Replace(filepath.ToSlash(abs))
}

// Ping checks that both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close lets SQLite refresh its planner statistics, then closes both pools.
func (s *Store) Close() error {
	_, err := s.write.Exec(`PRAGMA optimize`)
	return errors.Join(err, s.stmts.close(), s.read.Close(), s.write.Close())
}

// inTx runs fn in a write transaction, committing when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// querier is what reads need from either pool or a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// timeLayout is fixed-width, so text order equals time order for years 1–9999.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// formatTime renders t in UTC for storage; the zero time stays recognisable.
func formatTime(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// parseTime reads a time written by formatTime.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: stored time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// MarkOnce records the one-time step name and reports whether this call was
// the first to do so.
func (s *Store) MarkOnce(ctx context.Context, name string) (bool, error) {
	res, err := s.write.ExecContext(ctx,
		`INSERT INTO once_marks (name, done_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
		name, formatTime(time.Now()))
	if err != nil {
		return false, fmt.Errorf("sqlite: mark once %q: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: mark once %q: %w", name, err)
	}
	return n == 1, nil
}
