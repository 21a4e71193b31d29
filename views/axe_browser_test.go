package views_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/tidings/tidings/comments"
)

// axeViolation is one failed axe-core rule with the elements it failed on.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// runAxe is the expression that runs axe-core on the whole document and
// resolves to its violations.
const runAxe = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations)`

// TestAccessibility runs axe-core (its axe.min.js named by TIDINGS_AXE, which
// .ci/run installs from npm) on the home page, a story, a topic, search results and the 404
// page, in light and dark mode, and fails on serious or critical violations.
func TestAccessibility(t *testing.T) {
	axePath := os.Getenv("TIDINGS_AXE")
	if axePath == "" {
		skipOrFail(t, "TIDINGS_AXE is not set; .ci/run installs axe-core from npm and sets it to axe.min.js")
	}
	axeJS, err := os.ReadFile(axePath)
	if err != nil {
		t.Fatalf("reading axe-core: %v", err)
	}
	n := newNewsroom(t)
	// A discussion: a comment and a reply under the WhatsApp story.
	top := approvedComment(t, n, 0, "Ada", "https://ada.example.org", "Metadata is data.\n\nSee https://eff.example/x")
	approvedComment(t, n, top, "Grace", "", "Agreed.")
	tab := browser(t, n.ts.URL)
	story := "/stories/" + strconv.FormatInt(n.ids["whatsapp"], 10)
	pages := map[string]string{
		"home":   "/",
		"story":  story,
		"reply":  story + "?replyto=" + strconv.FormatInt(top, 10),
		"topic":  "/topics/messaging",
		"404":    "/stories/999999",
		"search": "/search?q=whatsapp",
	}
	// axe must find a fault planted in a page, or a pass proves nothing.
	t.Run("planted-fault", func(t *testing.T) {
		found := axePage(t, tab, axeJS, n.ts.URL+"/",
			`document.querySelector("main").append(Object.assign(document.createElement("input"), {type: "text", id: "planted"}))`)
		for _, v := range found {
			if v.ID == "label" && (v.Impact == "serious" || v.Impact == "critical") {
				return
			}
		}
		t.Errorf("axe did not report the unlabelled input planted in the page: %v", found)
	})
	for _, scheme := range []string{"light", "dark"} {
		if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"home", "story", "reply", "topic", "404", "search"} {
			t.Run(name+"/"+scheme, func(t *testing.T) {
				for _, v := range axePage(t, tab, axeJS, n.ts.URL+pages[name], "") {
					msg := describe(v)
					if v.Impact == "serious" || v.Impact == "critical" {
						t.Error(msg)
					} else {
						t.Log(msg)
					}
				}
			})
		}
	}
}

// approvedComment adds an approved comment (a reply to parent, if not 0)
// to the newsroom's WhatsApp story through the service.
func approvedComment(t *testing.T, n *newsroom, parent int64, author, website, body string) int64 {
	t.Helper()
	c, err := n.comments.Submit(context.Background(), comments.Submission{
		StoryID: n.ids["whatsapp"], ParentID: parent, Author: author, Email: strings.ToLower(author) + "@example.org",
		Website: website, Body: body, FormTime: time.Now().Add(-time.Minute), IP: "192.0.2." + strconv.Itoa(len(author)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.comments.Approve(context.Background(), c.ID); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// axePage opens url, runs the script before (if any), injects axe-core and
// returns its violations.
func axePage(t *testing.T, tab context.Context, axeJS []byte, url, before string) []axeViolation {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	if before != "" {
		if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](before)); err != nil {
			t.Fatal(err)
		}
	}
	// Evaluation through the DevTools protocol is not subject to the page's
	// Content-Security-Policy, so axe runs on the page as served.
	if err := chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](string(axeJS))); err != nil {
		t.Fatalf("injecting axe-core: %v", err)
	}
	found, err := chromedp.Run(tab, chromedp.Evaluate[[]axeViolation](runAxe, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running axe-core: %v", err)
	}
	return found
}

// describe lists a violation's rule, impact and elements.
func describe(v axeViolation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "axe %s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n  %v %s", n.Target, n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n    %s", strings.ReplaceAll(n.Summary, "\n", "\n    "))
		}
	}
	return b.String()
}
