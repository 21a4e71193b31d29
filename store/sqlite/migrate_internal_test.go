package sqlite

import (
	"path/filepath"
	"testing"
)

// Every embedded migration is recorded once, in order, and opening again
// applies nothing new.
func TestMigrationsRecorded(t *testing.T) {
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tidings.db")
	for range 2 {
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.read.QueryContext(t.Context(), `SELECT version, name FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		for rows.Next() {
			var v int
			var name string
			if err := rows.Scan(&v, &name); err != nil {
				t.Fatal(err)
			}
			if n >= len(ms) || v != ms[n].version || name != ms[n].name {
				t.Errorf("schema_migrations row %d = %d %q, want the embedded files in order", n, v, name)
			}
			n++
		}
		rows.Close()
		if n != len(ms) {
			t.Errorf("schema_migrations has %d rows, want %d", n, len(ms))
		}
		s.Close()
	}
}

// The read pool cannot write.
func TestReadPoolIsReadOnly(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "tidings.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.read.ExecContext(t.Context(), `INSERT INTO once_marks (name, done_at) VALUES ('x', 'y')`); err == nil {
		t.Fatal("a write through the read pool succeeded")
	}
}
