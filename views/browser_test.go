package views_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Browser tests drive Debian's Chromium through chromedp against the real
// site over SQLite. They skip when chromium is not on PATH, unless
// TIDINGS_TEST_REQUIRE names "browser".

// requireEnv names the parts that must not be skipped (a comma list).
const requireEnv = "TIDINGS_TEST_REQUIRE"

// required reports whether TIDINGS_TEST_REQUIRE names part.
func required(part string) bool {
	return slices.Contains(strings.Split(os.Getenv(requireEnv), ","), part)
}

// skipOrFail skips the test, or fails it when the browser tests are required.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if required("browser") {
		t.Fatalf("%s (and %s names browser)", why, requireEnv)
	}
	t.Skip(why)
}

// browser starts a headless Chromium with a fresh profile and returns a tab
// context. Every request the tab makes is recorded; when the test ends, any
// request to an origin other than origin fails it.
func browser(t *testing.T, origin string) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		skipOrFail(t, "chromium is not on PATH; install Debian's chromium to run the browser tests")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	tab, cancelTab := chromedp.NewContext(actx)
	// Cancel the tab, then the browser, before the profile directory goes.
	t.Cleanup(func() { cancelTab(); cancelAlloc() })

	var mu sync.Mutex
	var urls []string
	if err := chromedp.Listen(tab, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			urls = append(urls, ev.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if len(urls) == 0 {
			t.Error("the browser recorded no requests at all")
		}
		for _, u := range urls {
			if !strings.HasPrefix(u, origin+"/") {
				t.Errorf("request to another origin: %s", u)
			}
		}
	})
	return tab
}

// artifacts is where screenshots go: $TIDINGS_TEST_ARTIFACTS, else a
// temporary directory.
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("TIDINGS_TEST_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves a full-page PNG of url at the given width.
func screenshot(t *testing.T, tab context.Context, url string, width int64, file string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, 800)); err != nil {
		t.Fatal(err)
	}
	resp, err := chromedp.Run(tab, chromedp.NavigateResponse(url))
	if err != nil || resp.Status != 200 {
		t.Fatalf("%s at %d px: %v %v", url, width, resp, err)
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", url, err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot of %s is not a PNG", url)
	}
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", file, len(png))
}

func TestBrowserReadsAStory(t *testing.T) {
	n := newNewsroom(t)
	tab := browser(t, n.ts.URL)

	if err := chromedp.Do(tab, chromedp.Navigate(n.ts.URL+"/")); err != nil {
		t.Fatalf("home: %v", err)
	}
	if title, err := chromedp.Run(tab, chromedp.Title()); err != nil || title == "" {
		t.Fatalf("home title %q: %v", title, err)
	}
	// Follow the WhatsApp story from the home page, as a reader would.
	link := "#story-" + strconv.FormatInt(n.ids["whatsapp"], 10) + " h2 a"
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(link)))); err != nil {
		t.Fatalf("following %s: %v", link, err)
	}
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	wantPath := "/stories/" + strconv.FormatInt(n.ids["whatsapp"], 10) + "/"
	if !strings.HasPrefix(loc, n.ts.URL+wantPath) {
		t.Fatalf("the story link led to %s, want %s…", loc, wantPath)
	}
	h1, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1")))
	if err != nil || h1 != "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims" {
		t.Errorf("story h1 = %q (%v)", h1, err)
	}

	similar, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(`section[aria-labelledby="similar-title"]`)))
	if err != nil {
		t.Fatalf("no Similar Posts section: %v", err)
	}
	for _, want := range []string{
		"Similar Posts",
		"Signal and WhatsApp Defend End-to-End Encryption Against Scanning Plans",
		"Why Message Metadata Still Reveals Who You Talk To",
	} {
		if !strings.Contains(similar, want) {
			t.Errorf("Similar Posts lacks %q:\n%s", want, similar)
		}
	}
	if strings.Contains(similar, "Quarterly Earnings") {
		t.Error("Similar Posts lists a hidden story")
	}

	orig, err := chromedp.Run(tab, chromedp.Attributes(chromedp.CSS(".read-original a")))
	if err != nil {
		t.Fatalf("no link to the original: %v", err)
	}
	if orig["href"] != "https://byteline.example/2026/11/whatsapp-musk" {
		t.Errorf("original link href = %q", orig["href"])
	}
	if orig["rel"] != "noopener noreferrer" {
		t.Errorf("original link rel = %q", orig["rel"])
	}

	// A Similar Posts link leads to that story's page.
	if _, err := chromedp.Run(tab, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`section[aria-labelledby="similar-title"] li:first-child a`)))); err != nil {
		t.Fatalf("following a similar post: %v", err)
	}
	if h1, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS("h1"))); err != nil ||
		h1 != "Signal and WhatsApp Defend End-to-End Encryption Against Scanning Plans" {
		t.Errorf("similar post h1 = %q (%v)", h1, err)
	}

	dir := artifacts(t)
	story := loc
	for _, width := range []int64{375, 1280} {
		w := strconv.FormatInt(width, 10)
		screenshot(t, tab, n.ts.URL+"/", width, filepath.Join(dir, "home-"+w+".png"))
		screenshot(t, tab, story, width, filepath.Join(dir, "story-"+w+".png"))
	}
}
