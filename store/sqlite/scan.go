package sqlite

import "database/sql"

// scanner is what a row scan needs: *sql.Row and *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanAll turns a row scanner into one that takes a query's two results,
// scans every row and closes the rows, so that a list read is one line:
//
//	out, err := scanAll(scanStory)(s.read.QueryContext(ctx, q, args...))
func scanAll[T any](scan func(scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []T
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}
