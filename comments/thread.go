package comments

import (
	"context"
	"fmt"
	"html/template"
	"slices"
)

// Node is one comment of a thread as a page shows it, with its replies.
type Node struct {
	// Comment is the comment without what a page must never show: its
	// EmailIndex, EmailSealed and IPHash are empty.
	Comment Comment
	// Held marks the viewer's own comment awaiting moderation, shown to
	// them alone.
	Held bool
	// Depth is the level shown: 1 at the top, one more under each parent.
	Depth int
	// Author is the name, linked to the website when there is one; Body the
	// text as HTML; Avatar the commenter's identicon. All are safe HTML.
	Author, Body, Avatar template.HTML
	// Children are the replies, oldest first.
	Children []*Node
}

// Thread returns the discussion under a story as a tree, oldest first at
// each level: its approved comments and, marked Held, those of the
// viewer's own comments (own: the IDs from their cookie, see ParseOwnToken)
// that are under this story and still held (pending, or judged spam: a
// submitter cannot tell the two apart). A reply whose parent is not shown
// (rejected, spam, held for someone else) sits under the nearest ancestor
// that is, and a reply whose parent was deleted at the top level.
func (s *Service) Thread(ctx context.Context, storyID int64, own []int64) ([]*Node, error) {
	shown, err := s.o.Store.Comments(ctx, Filter{StoryID: storyID, Statuses: []Status{Approved}})
	if err != nil {
		return nil, fmt.Errorf("comments: thread of story %d: %w", storyID, err)
	}
	held := map[int64]bool{}
	if own = ownIDs(own); len(own) > 0 {
		mine, err := s.o.Store.Comments(ctx, Filter{StoryID: storyID, IDs: own, Statuses: []Status{Pending, Spam}})
		if err != nil {
			return nil, fmt.Errorf("comments: thread of story %d: %w", storyID, err)
		}
		for _, c := range mine {
			held[c.ID] = true
		}
		shown = append(shown, mine...)
		slices.SortFunc(shown, func(a, b Comment) int { return compareID(a.ID, b.ID) })
	}
	hidden, err := s.hiddenAncestors(ctx, storyID, shown)
	if err != nil {
		return nil, err
	}
	roots := buildTree(shown, held, hidden)
	s.decorate(roots, 1)
	return roots, nil
}

func compareID(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// hiddenAncestors maps each comment that is a parent or ancestor of a shown
// comment, but not shown itself, to its own parent, so that a reply can be
// placed under the nearest shown ancestor. Deleted comments are missing.
func (s *Service) hiddenAncestors(ctx context.Context, storyID int64, shown []Comment) (map[int64]int64, error) {
	known := make(map[int64]bool, len(shown))
	for _, c := range shown {
		known[c.ID] = true
	}
	hidden := map[int64]int64{}
	var missing []int64
	for _, c := range shown {
		if c.ParentID > 0 && !known[c.ParentID] {
			missing = append(missing, c.ParentID)
			known[c.ParentID] = true
		}
	}
	// Each round climbs one level; a thread is at most MaxDepth deep, but
	// one more round costs nothing when the data says otherwise.
	for round := 0; len(missing) > 0 && round <= MaxDepth; round++ {
		found, err := s.o.Store.Comments(ctx, Filter{StoryID: storyID, IDs: missing})
		if err != nil {
			return nil, fmt.Errorf("comments: thread of story %d: %w", storyID, err)
		}
		missing = missing[:0]
		for _, c := range found {
			hidden[c.ID] = c.ParentID
			if c.ParentID > 0 && !known[c.ParentID] {
				missing = append(missing, c.ParentID)
				known[c.ParentID] = true
			}
		}
	}
	return hidden, nil
}

// buildTree arranges shown (sorted by ID) into trees. hidden maps comments
// not shown to their parents. A comment goes under its nearest shown
// ancestor; since a reply is always younger than what it answers, only an
// older ancestor counts, which also keeps damaged data from making a loop.
func buildTree(shown []Comment, held map[int64]bool, hidden map[int64]int64) []*Node {
	nodes := make(map[int64]*Node, len(shown))
	var roots []*Node
	for _, c := range shown {
		n := &Node{Comment: c, Held: held[c.ID]}
		nodes[c.ID] = n
		p := c.ParentID
		for steps := 0; p > 0 && steps <= len(hidden); steps++ {
			if _, ok := nodes[p]; ok {
				break
			}
			gp, ok := hidden[p]
			if !ok {
				p = 0 // deleted: no way up
				break
			}
			p = gp
		}
		if parent, ok := nodes[p]; ok && p < c.ID {
			parent.Children = append(parent.Children, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}

// decorate sets the depth and the HTML of each node, then clears what a
// page must not show.
func (s *Service) decorate(nodes []*Node, depth int) {
	for _, n := range nodes {
		n.Depth = depth
		n.Author = AuthorLink(n.Comment.Author, n.Comment.Website)
		n.Body = RenderBody(n.Comment.Body)
		n.Avatar = s.Avatar(n.Comment)
		n.Comment.EmailIndex, n.Comment.EmailSealed, n.Comment.IPHash = "", nil, ""
		s.decorate(n.Children, depth+1)
	}
}
