package comments_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tidings/tidings/comments"
)

// tree prints a thread as "1(2(3) 4*) 5", "*" marking held comments, and
// checks each node's depth and HTML on the way.
func tree(t *testing.T, nodes []*comments.Node, depth int) string {
	t.Helper()
	var parts []string
	for _, n := range nodes {
		if n.Depth != depth {
			t.Errorf("comment %d shown at depth %d, want %d", n.Comment.ID, n.Depth, depth)
		}
		if n.Comment.EmailIndex != "" || n.Comment.EmailSealed != nil || n.Comment.IPHash != "" {
			t.Errorf("comment %d carries its address or IP hash into the page", n.Comment.ID)
		}
		if n.Body != comments.RenderBody(n.Comment.Body) || !strings.Contains(string(n.Author), n.Comment.Author) ||
			!strings.HasPrefix(string(n.Avatar), "<svg ") {
			t.Errorf("comment %d: HTML %q %q %q", n.Comment.ID, n.Body, n.Author, n.Avatar)
		}
		s := fmt.Sprint(n.Comment.ID)
		if n.Held {
			s += "*"
		}
		if len(n.Children) > 0 {
			s += "(" + tree(t, n.Children, depth+1) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestThread(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	reply := func(parent int64, author, email string) comments.Submission {
		s := f.sub(author, email, "Reply by "+author+" to "+fmt.Sprint(parent)+": https://eff.org")
		s.ParentID = parent
		return s
	}
	a := f.approved(t, f.sub("Ann", "ann@example.org", "First.\n\nSecond <b>paragraph</b>."))
	b := f.approved(t, reply(a.ID, "Bob", "bob@example.org"))
	c := f.approved(t, reply(b.ID, "Cid", "cid@example.org"))
	d := f.approved(t, f.sub("Dee", "dee@example.org", "Another top comment."))
	e := f.approved(t, reply(a.ID, "Eve", "eve@example.org"))
	heldMine := f.submit(t, reply(d.ID, "Fay", "fay@example.org"))
	heldOther := f.submit(t, reply(d.ID, "Gus", "gus@example.org"))
	spamMine := f.sub("Fay", "fay@example.org", "Too quick.")
	spamMine.Honeypot = "x"
	spam := f.submit(t, spamMine)
	onOther := f.sub("Fay", "fay@example.org", "On another story.")
	onOther.StoryID = f.other.ID
	elsewhere := f.submit(t, onOther)
	if heldMine.Status != comments.Pending || spam.Status != comments.Spam || elsewhere.Status != comments.Pending {
		t.Fatalf("set-up: %s %s %s", heldMine.Status, spam.Status, elsewhere.Status)
	}

	check := func(name string, own []int64, want string) {
		t.Helper()
		nodes, err := f.svc.Thread(ctx, f.story.ID, own)
		if err != nil {
			t.Fatal(err)
		}
		want = strings.NewReplacer("A", fmt.Sprint(a.ID), "B", fmt.Sprint(b.ID), "C", fmt.Sprint(c.ID), "D", fmt.Sprint(d.ID),
			"E", fmt.Sprint(e.ID), "F", fmt.Sprint(heldMine.ID), "S", fmt.Sprint(spam.ID)).Replace(want)
		if got := tree(t, nodes, 1); got != want {
			t.Errorf("%s: thread %s, want %s", name, got, want)
		}
	}
	check("a stranger", nil, "A(B(C) E) D")
	// The viewer's own held comments, not someone else's, not another
	// story's; a comment judged spam looks held to its author.
	check("the author", []int64{heldMine.ID, spam.ID, elsewhere.ID, 999999, -1}, "A(B(C) E) D(F*) S*")
	check("an approved own comment", []int64{a.ID, c.ID}, "A(B(C) E) D")
	check("another visitor", []int64{heldOther.ID}, fmt.Sprintf("A(B(C) E) D(%d*)", heldOther.ID))
	nodes, _ := f.svc.Thread(ctx, f.story.ID, nil)
	if want := "<p>First.</p>\n<p>Second &lt;b&gt;paragraph&lt;/b&gt;.</p>\n"; string(nodes[0].Body) != want {
		t.Errorf("body HTML %q, want %q", nodes[0].Body, want)
	}

	// A rejected parent: its reply moves up to the grandparent. A deleted
	// one: up to the top level.
	if _, err := f.svc.Reject(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	check("B rejected", nil, "A(C E) D")
	if _, err := f.svc.MarkSpam(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	check("A and B hidden", nil, "C D E")
	if _, err := f.svc.Approve(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Delete(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	check("B deleted", nil, "A(E) C D")
	if nodes, err := f.svc.Thread(ctx, 999999, nil); err != nil || len(nodes) != 0 {
		t.Errorf("thread of a missing story: %v, %v", nodes, err)
	}
}

func TestOwnTokenThroughThread(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	held := f.submit(t, f.sub("Ann", "ann@example.org", "Mine."))
	tok := f.svc.OwnToken(append(f.svc.ParseOwnToken(""), held.ID))
	nodes, err := f.svc.Thread(context.Background(), f.story.ID, f.svc.ParseOwnToken(tok))
	if err != nil || len(nodes) != 1 || !nodes[0].Held {
		t.Fatalf("thread with the cookie: %v, %v", nodes, err)
	}
	f.advance(comments.OwnValidity)
	if ids := f.svc.ParseOwnToken(tok); ids != nil {
		t.Errorf("an expired cookie still lists %v", ids)
	}
}
