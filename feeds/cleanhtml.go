package feeds

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// linkRel is the rel of every link in story content: no endorsement, no
// window.opener, no Referer telling the outlet which reader came from here.
const linkRel = "nofollow noopener noreferrer"

// contentPolicy is the sanitiser for story content. It keeps the text markup
// of bluemonday's UGCPolicy but no media at all (remote images are tracking
// pixels and third-party loads), no id or class (they could clash with the
// page's own), and links only to absolute http(s) URLs. A Policy is safe for
// concurrent use once built.
var contentPolicy = newContentPolicy()

// keptElements are the elements story content may hold (links aside).
var keptElements = map[string]bool{
	"p": true, "br": true, "hr": true, "ul": true, "ol": true, "li": true,
	"dl": true, "dt": true, "dd": true, "blockquote": true, "pre": true,
	"code": true, "kbd": true, "samp": true, "em": true, "strong": true,
	"b": true, "i": true, "u": true, "s": true, "del": true, "ins": true,
	"sub": true, "sup": true, "small": true, "mark": true, "q": true,
	"cite": true, "abbr": true, "figure": true, "figcaption": true,
	"h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"table": true, "caption": true, "thead": true, "tbody": true,
	"tfoot": true, "tr": true, "th": true, "td": true,
}

func newContentPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	for name := range keptElements {
		p.AllowElements(name)
	}
	p.AllowAttrs("colspan", "rowspan").Matching(regexp.MustCompile(`^[1-9][0-9]?$`)).OnElements("td", "th")
	p.RequireParseableURLs(true)
	p.AllowURLSchemes("http", "https")
	p.AllowRelativeURLs(false)
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	// Beyond bluemonday's defaults (script, style, iframe, object, …), the
	// text inside these is not reader-visible prose either.
	// (xmp and plaintext are read as raw text, like script: what summaries
	// leave out, the content leaves out too.)
	p.SkipElementsContent("svg", "math", "template", "select", "textarea", "button",
		"xmp", "plaintext")
	return p
}

// CleanHTML sanitises feed content: no scripts, event handlers, iframes, forms,
// styles, tracking pixels or remote images; links resolved against base and kept
// only when http(s).
//
// A link's href becomes its canonical URL (see CanonicalURL), without tracking
// parameters, with rel="nofollow noopener noreferrer" and no target; a link
// that does not resolve to http(s) loses its href and becomes plain text.
// Elements hidden from the reader (hidden, aria-hidden, display:none, …) are
// dropped with their content, as they only ever carry tracking or spam.
func CleanHTML(s string, base *url.URL) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(validUTF8(s)), body)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, n := range nodes {
		if isHiddenElement(n) {
			continue
		}
		prepareTree(n, base)
		if err := html.Render(&b, n); err != nil {
			return ""
		}
		if separatesWords(n) {
			b.WriteByte('\n') // see prepareTree
		}
	}
	return strings.TrimSpace(contentPolicy.Sanitize(b.String()))
}

// prepareTree removes hidden elements below root and rewrites its links, so
// that the sanitiser only has to check what it is given.
func prepareTree(root *html.Node, base *url.URL) {
	stack := []*html.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Type == html.ElementNode && n.Data == "a" {
			rewriteLink(n, base)
		}
		if n.Parent != nil && separatesWords(n) {
			n.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: "\n"}, n)
			n.Parent.InsertBefore(&html.Node{Type: html.TextNode, Data: "\n"}, n.NextSibling)
		}
		for c := n.FirstChild; c != nil; {
			next := c.NextSibling
			if isHiddenElement(c) || c.Type == html.CommentNode {
				n.RemoveChild(c)
			} else {
				stack = append(stack, c)
			}
			c = next
		}
	}
}

// separatesWords reports whether n is a block whose tag the sanitiser drops
// (div, h1, section…): a line break must then keep the words on either side
// of it apart.
func separatesWords(n *html.Node) bool {
	return n.Type == html.ElementNode && !keptElements[n.Data] &&
		n.DataAtom != atom.Img && textBreaks[n.DataAtom]
}

// rewriteLink replaces the attributes of an <a> element by a canonical href
// and linkRel, or by nothing when it has no href that resolves to http(s).
func rewriteLink(n *html.Node, base *url.URL) {
	href := ""
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == "href" {
			href = a.Val
			break
		}
	}
	n.Attr = n.Attr[:0]
	if href == "" {
		return
	}
	if u, err := CanonicalURL(href, base); err == nil {
		n.Attr = append(n.Attr,
			html.Attribute{Key: "href", Val: u},
			html.Attribute{Key: "rel", Val: linkRel})
	}
}

// isHiddenElement reports whether n is an element the author hid from readers.
func isHiddenElement(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if strings.EqualFold(strings.TrimSpace(a.Val), "true") {
				return true
			}
		case "style":
			for _, decl := range strings.Split(a.Val, ";") {
				d := strings.ToLower(strings.Join(strings.Fields(decl), ""))
				d = strings.TrimSuffix(d, "!important")
				if hiddenStyles[d] {
					return true
				}
			}
		}
	}
	return false
}

// hiddenStyles are CSS declarations (lower case, no spaces) that hide an
// element from readers.
var hiddenStyles = map[string]bool{
	"display:none": true, "visibility:hidden": true, "opacity:0": true,
	"font-size:0": true, "font-size:0px": true,
}

// textBreaks are the elements that separate words: text on either side of
// them must not run together in plain text.
var textBreaks = map[atom.Atom]bool{
	atom.P: true, atom.Br: true, atom.Hr: true, atom.Div: true, atom.Li: true,
	atom.Ul: true, atom.Ol: true, atom.Dt: true, atom.Dd: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Blockquote: true, atom.Pre: true, atom.Table: true,
	atom.Tr: true, atom.Td: true, atom.Th: true, atom.Caption: true,
	atom.Section: true, atom.Article: true, atom.Header: true, atom.Footer: true,
	atom.Aside: true, atom.Nav: true, atom.Figure: true, atom.Figcaption: true,
	atom.Img: true, atom.Address: true, atom.Main: true,
}
