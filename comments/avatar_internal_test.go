package comments

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/tidings/tidings/secrets"
)

func mustOtherKeys(t *testing.T) *secrets.Keys {
	t.Helper()
	k, err := secrets.New(bytes.Repeat([]byte("o"), 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAvatar(t *testing.T) {
	s := pureService(t, nil, nil)
	const addr = "ann@example.org"
	index := s.o.Keys.BlindIndex(addr)
	a := string(s.Avatar(Comment{EmailIndex: index}))
	if a != string(s.Avatar(Comment{EmailIndex: index, Author: "Someone else"})) {
		t.Error("one address, two avatars")
	}
	b := string(s.Avatar(Comment{EmailIndex: s.o.Keys.BlindIndex("bob@example.org")}))
	if a == b {
		t.Error("two addresses, one avatar")
	}
	other := pureService(t, nil, nil)
	other.o.Keys = mustOtherKeys(t)
	if a == string(other.Avatar(Comment{EmailIndex: index})) {
		t.Error("the avatar does not depend on the site's key")
	}
	// Nothing computed from the address without the key appears, nor the
	// index itself.
	md := md5.Sum([]byte(addr))
	sh := sha1.Sum([]byte(addr))
	s2 := sha256.Sum256([]byte(addr))
	for _, leak := range []string{addr, index, index[:16], hex.EncodeToString(md[:]), hex.EncodeToString(sh[:]), hex.EncodeToString(s2[:]), hex.EncodeToString(md[:4])} {
		if strings.Contains(a, leak) {
			t.Errorf("the avatar holds %q", leak)
		}
	}
	for _, svg := range []string{a, b, string(s.Avatar(Comment{}))} {
		checkSVG(t, svg)
	}
}

// checkSVG parses an avatar as a browser would: one svg element of 40×40
// with role and label, holding only rect and path, no script, no link, no
// URL and no event handler.
func checkSVG(t *testing.T, svg string) {
	t.Helper()
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(svg), body)
	if err != nil || len(nodes) != 1 || nodes[0].Data != "svg" {
		t.Fatalf("avatar %q: %d nodes, %v", svg, len(nodes), err)
	}
	attrs := map[string]string{}
	for _, a := range nodes[0].Attr {
		attrs[a.Key] = a.Val
	}
	if attrs["width"] != "40" || attrs["height"] != "40" || attrs["role"] != "img" || attrs["aria-label"] == "" {
		t.Errorf("svg attributes %v", attrs)
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode || (c.Data != "rect" && c.Data != "path") {
				t.Errorf("avatar holds %v %q", c.Type, c.Data)
			}
			walk(c)
		}
	}
	walk(nodes[0])
	if regexp.MustCompile(`(?i)script|href|url\(|on[a-z]+=|//`).MatchString(svg) {
		t.Errorf("avatar %q refers to something", svg)
	}
	if !regexp.MustCompile(`^<svg [^<>]*>(<rect [^<>]*/>)(<path fill="#[0-9a-f]{6}" d="(M[0-4] [0-4]h1v1h-1z)+"/>)?</svg>$`).MatchString(svg) {
		t.Errorf("avatar %q is not the expected drawing", svg)
	}
}

func TestIdenticonMirrored(t *testing.T) {
	sum := make([]byte, 32)
	for i := range sum {
		sum[i] = byte(i*37 + 11)
	}
	cells, colour := identicon(sum)
	for row := range avatarGrid {
		for col := range avatarGrid {
			if cells[row*avatarGrid+col] != cells[row*avatarGrid+avatarGrid-1-col] {
				t.Errorf("row %d is not mirrored", row)
			}
		}
	}
	if !regexp.MustCompile(`^#[0-9a-f]{6}$`).MatchString(colour) {
		t.Errorf("colour %q", colour)
	}
	for h, want := range map[float64]string{0: "#b23434", 120: "#34b234", 240: "#3434b2"} {
		if got := hslHex(h, 0.55, 0.45); got != want {
			t.Errorf("hslHex(%v) = %s, want %s", h, got, want)
		}
	}
}
