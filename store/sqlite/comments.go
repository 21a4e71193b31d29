package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings/tidings/comments"
)

var _ comments.Store = (*Store)(nil)

const commentColumns = `id, story_id, parent_id, depth, author, website, body, email_index,
	email_sealed, status, reason, ip_hash, notify_replies, created_at, moderated_at`

// AddComment stores c under a new ID and returns it as stored. A zero
// CreatedAt becomes now.
func (s *Store) AddComment(ctx context.Context, c comments.Comment) (comments.Comment, error) {
	if err := c.CheckStorable(); err != nil {
		return comments.Comment{}, fmt.Errorf("sqlite: add comment: %w", err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	got, err := scanComment(s.write.QueryRowContext(ctx, `INSERT INTO comments (story_id,
		parent_id, depth, author, website, body, email_index, email_sealed, status, reason,
		ip_hash, notify_replies, created_at, moderated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+commentColumns,
		c.StoryID, c.ParentID, c.Depth, c.Author, c.Website, c.Body, c.EmailIndex,
		sealedBytes(c.EmailSealed), string(c.Status), c.Reason, c.IPHash, c.NotifyReplies,
		formatTime(c.CreatedAt), formatTime(c.ModeratedAt)))
	if err != nil {
		return comments.Comment{}, fmt.Errorf("sqlite: add comment on story %d: %w", c.StoryID, err)
	}
	return got, nil
}

// Comment returns the comment with the given ID or ErrNotFound.
func (s *Store) Comment(ctx context.Context, id int64) (comments.Comment, error) {
	c, err := scanComment(s.read.QueryRowContext(ctx,
		`SELECT `+commentColumns+` FROM comments WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = comments.ErrNotFound
	}
	if err != nil {
		return comments.Comment{}, fmt.Errorf("sqlite: comment %d: %w", id, err)
	}
	return c, nil
}

// Comments lists the comments matching f by ascending ID. A story's page
// and the moderation queue walk the (story_id, status, id) and (status, id)
// indexes; the statuses are bound one parameter each (there are four at
// most), so that the planner sees them.
func (s *Store) Comments(ctx context.Context, f comments.Filter) ([]comments.Comment, error) {
	q := `SELECT ` + commentColumns + ` FROM comments WHERE id > ?`
	args := []any{f.AfterID}
	if f.StoryID != 0 {
		q += ` AND story_id = ?`
		args = append(args, f.StoryID)
	}
	if len(f.Statuses) > 0 {
		seen := map[comments.Status]bool{}
		var marks []string
		for _, st := range f.Statuses {
			if !st.Valid() {
				return nil, fmt.Errorf("sqlite: comments: invalid status %q in the filter", st)
			}
			if !seen[st] {
				seen[st] = true
				marks = append(marks, "?")
				args = append(args, string(st))
			}
		}
		q += ` AND status IN (` + strings.Join(marks, ", ") + `)`
	}
	if len(f.IDs) > 0 {
		list, _ := json.Marshal(f.IDs) // []int64 always marshals
		q += ` AND id IN (SELECT value FROM json_each(?))`
		args = append(args, string(list))
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	out, err := scanAll(scanComment)(s.read.QueryContext(ctx, q, args...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: comments: %w", err)
	}
	return out, nil
}

// SetStatus moves a comment from one status to another in one statement,
// which changes the row only if it still has status from. When it changes
// nothing, a look-up tells a missing comment (ErrNotFound) from one that
// was moved meanwhile (ErrConflict).
func (s *Store) SetStatus(ctx context.Context, id int64, from, to comments.Status, at time.Time) (comments.Comment, error) {
	if !from.Valid() || !to.Valid() {
		return comments.Comment{}, fmt.Errorf("sqlite: set status of comment %d: invalid status %q → %q", id, from, to)
	}
	c, err := scanComment(s.write.QueryRowContext(ctx, `UPDATE comments SET status = ?, moderated_at = ?
		WHERE id = ? AND status = ? RETURNING `+commentColumns,
		string(to), formatTime(at), id, string(from)))
	if errors.Is(err, sql.ErrNoRows) {
		var one int
		err = s.read.QueryRowContext(ctx, `SELECT 1 FROM comments WHERE id = ?`, id).Scan(&one)
		switch {
		case err == nil:
			err = comments.ErrConflict
		case errors.Is(err, sql.ErrNoRows):
			err = comments.ErrNotFound
		}
	}
	if err != nil {
		return comments.Comment{}, fmt.Errorf("sqlite: set status of comment %d from %s to %s: %w", id, from, to, err)
	}
	return c, nil
}

// SetNotify turns reply notifications for a comment on or off.
func (s *Store) SetNotify(ctx context.Context, id int64, notify bool) error {
	res, err := s.write.ExecContext(ctx, `UPDATE comments SET notify_replies = ? WHERE id = ?`, notify, id)
	if err == nil {
		err = oneCommentRow(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: set notify of comment %d: %w", id, err)
	}
	return nil
}

// DeleteComment erases a comment; its replies keep their parent_id.
func (s *Store) DeleteComment(ctx context.Context, id int64) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM comments WHERE id = ?`, id)
	if err == nil {
		err = oneCommentRow(res)
	}
	if err != nil {
		return fmt.Errorf("sqlite: delete comment %d: %w", id, err)
	}
	return nil
}

// CountApproved counts the approved comments of the given stories in one
// query, the IDs passed as one JSON array. Stories without any are missing.
func (s *Store) CountApproved(ctx context.Context, storyIDs []int64) (map[int64]int, error) {
	out := make(map[int64]int)
	if len(storyIDs) == 0 {
		return out, nil
	}
	list, _ := json.Marshal(storyIDs) // []int64 always marshals
	rows, err := s.read.QueryContext(ctx, `SELECT story_id, count(*) FROM comments
		WHERE story_id IN (SELECT value FROM json_each(?)) AND status = 'approved'
		GROUP BY story_id`, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite: count approved comments: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("sqlite: count approved comments: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: count approved comments: %w", err)
	}
	return out, nil
}

// HasApproved reports whether an approved comment has exactly that email
// index and author. An empty index matches nothing: a comment stored
// without an address vouches for nobody.
func (s *Store) HasApproved(ctx context.Context, emailIndex, author string) (bool, error) {
	if emailIndex == "" {
		return false, nil
	}
	var ok bool
	if err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM comments
		WHERE email_index = ? AND author = ? AND status = 'approved')`,
		emailIndex, author).Scan(&ok); err != nil {
		return false, fmt.Errorf("sqlite: has approved comment: %w", err)
	}
	return ok, nil
}

// CountRecent counts the comments from the client ipHash created at or
// after since. An empty hash (an erased one) counts nothing. The
// second condition on ip_hash lets the planner use the partial index
// comments_ip, whose own condition a bound parameter does not imply.
func (s *Store) CountRecent(ctx context.Context, ipHash string, since time.Time) (int, error) {
	if ipHash == "" {
		return 0, nil
	}
	var n int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM comments
		WHERE ip_hash = ? AND ip_hash <> '' AND created_at >= ?`,
		ipHash, formatTime(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count recent comments: %w", err)
	}
	return n, nil
}

// ForgetIPs erases the IP hashes of the comments created before the given
// instant and counts those that still had one.
func (s *Store) ForgetIPs(ctx context.Context, before time.Time) (int, error) {
	res, err := s.write.ExecContext(ctx, `UPDATE comments SET ip_hash = ''
		WHERE ip_hash <> '' AND created_at < ?`, formatTime(before))
	if err != nil {
		return 0, fmt.Errorf("sqlite: forget IP hashes: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlite: forget IP hashes: %w", err)
	}
	return int(n), nil
}

// oneCommentRow turns "no row changed" into comments.ErrNotFound.
func oneCommentRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return comments.ErrNotFound
	}
	return nil
}

func scanComment(r scanner) (comments.Comment, error) {
	var c comments.Comment
	var status, created, moderated string
	err := r.Scan(&c.ID, &c.StoryID, &c.ParentID, &c.Depth, &c.Author, &c.Website, &c.Body,
		&c.EmailIndex, &c.EmailSealed, &status, &c.Reason, &c.IPHash, &c.NotifyReplies,
		&created, &moderated)
	if err != nil {
		return comments.Comment{}, err
	}
	c.Status = comments.Status(status)
	if c.CreatedAt, err = parseTime(created); err != nil {
		return comments.Comment{}, err
	}
	if c.ModeratedAt, err = parseTime(moderated); err != nil {
		return comments.Comment{}, err
	}
	return c, nil
}
