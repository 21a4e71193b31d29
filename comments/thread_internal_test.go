package comments

import (
	"fmt"
	"strings"
	"testing"
)

// shape prints a forest as "1(2(3) 4) 5*" ("*": held), to compare trees.
func shape(nodes []*Node) string {
	var parts []string
	for _, n := range nodes {
		s := fmt.Sprint(n.Comment.ID)
		if n.Held {
			s += "*"
		}
		if len(n.Children) > 0 {
			s += "(" + shape(n.Children) + ")"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

func TestBuildTree(t *testing.T) {
	c := func(id, parent int64) Comment { return Comment{ID: id, ParentID: parent} }
	for _, tc := range []struct {
		name   string
		shown  []Comment
		held   map[int64]bool
		hidden map[int64]int64
		want   string
	}{
		{"empty", nil, nil, nil, ""},
		{"flat, oldest first", []Comment{c(1, 0), c(2, 0), c(5, 0)}, nil, nil, "1 2 5"},
		{"nested", []Comment{c(1, 0), c(2, 1), c(3, 2), c(4, 1), c(6, 0), c(7, 6)}, nil, nil, "1(2(3) 4) 6(7)"},
		{"held reply", []Comment{c(1, 0), c(2, 1)}, map[int64]bool{2: true}, nil, "1(2*)"},
		{"parent hidden: under the grandparent", []Comment{c(1, 0), c(3, 2)}, nil, map[int64]int64{2: 1}, "1(3)"},
		{"two hidden levels", []Comment{c(1, 0), c(4, 3)}, nil, map[int64]int64{2: 1, 3: 2}, "1(4)"},
		{"hidden top level: at the top", []Comment{c(3, 2), c(5, 0)}, nil, map[int64]int64{2: 0}, "3 5"},
		{"parent deleted: at the top", []Comment{c(1, 0), c(3, 2)}, nil, nil, "1 3"},
		{"hidden parent's parent deleted", []Comment{c(1, 0), c(4, 3)}, nil, map[int64]int64{3: 2}, "1 4"},
		{"a loop in hidden data", []Comment{c(1, 0), c(4, 3)}, nil, map[int64]int64{3: 2, 2: 3}, "1 4"},
		{"a parent younger than its reply", []Comment{c(1, 2), c(2, 0)}, nil, nil, "1 2"},
		{"its own parent", []Comment{c(1, 1)}, nil, nil, "1"},
	} {
		if got := shape(buildTree(tc.shown, tc.held, tc.hidden)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestOwnIDs(t *testing.T) {
	var many []int64
	for i := range int64(30) {
		many = append(many, i+1)
	}
	for _, c := range []struct {
		in   []int64
		want string
	}{
		{nil, "[]"},
		{[]int64{0, -3}, "[]"},
		{[]int64{5, 3, 5, 9}, "[3 5 9]"},
		{many, fmt.Sprint(many[10:])},
	} {
		if got := fmt.Sprint(ownIDs(c.in)); got != c.want && !(got == "[]" && c.want == "[]") {
			t.Errorf("ownIDs(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}
