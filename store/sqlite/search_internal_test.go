package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

func searchIDs(t *testing.T, s *Store, q string) []int64 {
	t.Helper()
	res, err := s.Search(t.Context(), feeds.SearchQuery{Text: q})
	if err != nil {
		t.Fatalf("Search(%q): %v", q, err)
	}
	var ids []int64
	for _, st := range res.Stories {
		ids = append(ids, st.ID)
	}
	slices.Sort(ids)
	return ids
}

func testStory(n int, title string, visible bool) feeds.Story {
	at := time.Date(2026, 3, 2, 9, 0, n, 0, time.UTC)
	return feeds.Story{
		SourceID: 1, URL: "https://t.example/" + title, Title: title, Summary: "A summary.",
		PublishedAt: at, FirstSeenAt: at, Visible: visible,
	}
}

// The triggers keep the index in step with every kind of change to stories,
// even those no Store method makes today.
func TestSearchTriggers(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	added, err := s.AddStories(t.Context(), []feeds.Story{
		testStory(1, "Encryption bill passes", true),
		testStory(2, "Encryption bill stalls", true),
		testStory(3, "Encryption bill hidden", false),
	})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := added[0].Story.ID, added[1].Story.ID, added[2].Story.ID
	if got := searchIDs(t, s, "encryption bill"); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("before changes: %v, want %v", got, []int64{a, b})
	}
	for _, step := range []struct {
		sql   string
		args  []any
		query string
		want  []int64
	}{
		{`UPDATE stories SET visible = 0 WHERE id = ?`, []any{a}, "encryption", []int64{b}},
		{`UPDATE stories SET visible = 1 WHERE id = ?`, []any{c}, "encryption", []int64{b, c}},
		{`UPDATE stories SET title = 'Warrant rules change' WHERE id = ?`, []any{b}, "encryption", []int64{c}},
		{`UPDATE stories SET similar = '[]' WHERE id = ?`, []any{b}, "warrant", []int64{b}},
		{`DELETE FROM stories WHERE id = ?`, []any{c}, "encryption", nil},
		{`DELETE FROM stories WHERE id = ?`, []any{a}, "passes", nil},
	} {
		if _, err := s.write.ExecContext(t.Context(), step.sql, step.args...); err != nil {
			t.Fatalf("%s: %v", step.sql, err)
		}
		if got := searchIDs(t, s, step.query); !slices.Equal(got, step.want) {
			t.Errorf("after %s %v: Search(%q) = %v, want %v", step.sql, step.args, step.query, got, step.want)
		}
	}
}

// Stories stored before the search migration are indexed by it.
func TestSearchMigrationIndexesOldStories(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", fileURI(path)+"?"+commonPragmas+"&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := createMigrationsTable(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := applyMigration(ctx, db, ms[0]); err != nil {
		t.Fatal(err)
	}
	zero := formatTime(time.Time{})
	for _, r := range []struct {
		title   string
		visible bool
	}{{"Metadata retention ruling", true}, {"Metadata hidden draft", false}} {
		if _, err := db.Exec(`INSERT INTO stories (source_id, title, published_at, first_seen_at, visible)
			VALUES (1, ?, ?, ?, ?)`, r.title, zero, zero, r.visible); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := searchIDs(t, s, "metadata"); !slices.Equal(got, []int64{1}) {
		t.Errorf("Search(metadata) after migrating = %v, want [1]", got)
	}
}
