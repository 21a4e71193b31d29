package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	sqlitedrv "modernc.org/sqlite"

	"github.com/tidings/tidings/feeds"
)

// searchTextFunc is the SQL name of indexText; the search triggers of
// migration 0002 call it. A write that fires them from a connection without
// it (the sqlite3 shell editing a title, say) fails rather than leaving the
// index stale.
const searchTextFunc = "tidings_search_text"

func init() {
	// Registered with the driver, so every connection this process opens
	// has it, the migrating one included.
	sqlitedrv.MustRegisterDeterministicScalarFunction(searchTextFunc, 1, indexText)
}

// indexText is tidings_search_text(text): the text's search terms joined by
// spaces, which the index's 'ascii' tokenizer splits back into those terms.
func indexText(_ *sqlitedrv.FunctionContext, args []driver.Value) (driver.Value, error) {
	var text string
	switch v := args[0].(type) {
	case nil:
		return "", nil
	case string:
		text = v
	case []byte:
		text = string(v)
	default:
		return nil, fmt.Errorf("%s: want text, got %T", searchTextFunc, v)
	}
	return strings.Join(feeds.IndexTerms(text), " "), nil
}

// bm25Weights weighs the title above the summary, in story_search's column
// order.
var bm25Weights = strconv.Itoa(feeds.TitleWeight) + ".0, 1.0"

// searchPage ranks the matches and keeps one page. Only IDs and sort keys
// are sorted, the publication time read through the small covering index
// stories_search_order rather than from the story rows (which hold the
// content, often on overflow pages); whole stories are read for the page
// alone.
var searchPage = `
SELECT ` + storyColumns + `
FROM (
    SELECT f.id, f.rank, k.published_at AS published
    FROM (
        SELECT rowid AS id, bm25(story_search, ` + bm25Weights + `) AS rank
        FROM story_search WHERE story_search MATCH ?
    ) f CROSS JOIN stories k INDEXED BY stories_search_order ON k.id = f.id
    ORDER BY f.rank, published DESC, f.id DESC
    LIMIT ? OFFSET ?
) p CROSS JOIN stories s ON s.id = p.id
ORDER BY p.rank, p.published DESC, p.id DESC`

// searchCount counts the matches; without ranking it is cheap.
const searchCount = `SELECT count(*) FROM story_search WHERE story_search MATCH ?`

// Search finds visible stories by the words of their titles and summaries,
// ranked by FTS5's bm25. The count and the page are read in one transaction,
// so they agree.
func (s *Store) Search(ctx context.Context, q feeds.SearchQuery) (feeds.SearchResult, error) {
	fail := func(err error) (feeds.SearchResult, error) {
		return feeds.SearchResult{}, fmt.Errorf("sqlite: search: %w", err)
	}
	terms, err := feeds.ParseSearch(q.Text)
	if err != nil {
		return fail(err)
	}
	match := matchExpr(terms)
	limit, offset := q.Page()
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to undo
	var res feeds.SearchResult
	if err := tx.QueryRowContext(ctx, searchCount, match).Scan(&res.Total); err != nil {
		return fail(err)
	}
	if res.Total <= offset {
		return res, nil
	}
	rows, err := tx.QueryContext(ctx, searchPage, match, limit, offset)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		st, err := scanStory(rows)
		if err != nil {
			return fail(err)
		}
		res.Stories = append(res.Stories, st)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return res, nil
}

// matchExpr builds an FTS5 query from parsed terms: each one a quoted string
// (so nothing in it is FTS5 syntax), all required, the last also as a prefix.
// Terms hold only letters and digits; doubling quotes is a second guard.
func matchExpr(terms []string) string {
	var b strings.Builder
	for i, t := range terms {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(t, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteString(" *")
	return b.String()
}
