// Command pages measures the reading site with wrk: the home page and a story
// page served by the real views over a store filled with realistic stories,
// next to the ceiling measured in the same run, a bare Echo handler returning
// the home page's bytes from memory. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/bench/internal/corpus"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/store"
	"github.com/tidings/tidings/views"
)

func main() {
	storeURL := flag.String("store", "", "store URL (default: a fresh SQLite file in a temp dir)")
	nStories := flag.Int("stories", 300, "stories to store")
	wrkPath := flag.String("wrk", "wrk", "the wrk binary")
	duration := flag.String("d", "10s", "wrk duration")
	conns := flag.Int("c", 64, "wrk connections")
	header := flag.Bool("header", false, "print the table header first")
	flag.Parse()
	if err := bench(*storeURL, *nStories, *wrkPath, *duration, *conns, *header); err != nil {
		log.Fatal(err)
	}
}

func bench(storeURL string, nStories int, wrkPath, duration string, conns int, header bool) error {
	ctx := context.Background()
	kind := "sqlite"
	if storeURL == "" {
		dir, err := os.MkdirTemp("", "tidings-pages-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		storeURL = "sqlite:" + filepath.Join(dir, "bench.db")
	} else {
		kind, _, _ = strings.Cut(storeURL, ":")
	}
	st, err := store.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := fill(ctx, st, nStories); err != nil {
		return fmt.Errorf("filling the store: %w", err)
	}

	srv, err := views.New(views.Options{Stories: st, Ready: st.Ping, BaseURL: "https://news.example.org"})
	if err != nil {
		return err
	}
	site, stopSite, err := serve(srv.Handler())
	if err != nil {
		return err
	}
	defer stopSite()

	home, err := fetch(site + "/")
	if err != nil {
		return err
	}
	storyPath := regexp.MustCompile(`href="(/stories/\d+/[^"#]+)"`).FindSubmatch(home)
	if storyPath == nil {
		return errors.New("the home page links to no story")
	}
	story := site + string(storyPath[1])
	storyBody, err := fetch(story)
	if err != nil {
		return err
	}
	if !strings.Contains(string(storyBody), "Similar Posts") {
		return fmt.Errorf("%s has no Similar Posts", story)
	}

	// The ceiling: Echo returning the home page's bytes from memory (and, for
	// comparison, the story page's bytes).
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/", func(c echo.Context) error { return c.Blob(http.StatusOK, "text/html; charset=utf-8", home) })
	e.GET("/story", func(c echo.Context) error { return c.Blob(http.StatusOK, "text/html; charset=utf-8", storyBody) })
	ceiling, stopCeiling, err := serve(e)
	if err != nil {
		return err
	}
	defer stopCeiling()

	if header {
		fmt.Println("| store | page | bytes | req/s | p99 | % of ceiling | notes |")
		fmt.Println("|---|---|---|---|---|---|---|")
	}
	ceil, err := runWrk(wrkPath, ceiling+"/", duration, conns)
	if err != nil {
		return err
	}
	fmt.Printf("| %s | ceiling: Echo, home bytes from memory | %d | %.0f | %s | 100%% | %s |\n", kind, len(home), ceil.rps, ceil.p99, ceil.notes())
	storyCeil, err := runWrk(wrkPath, ceiling+"/story", duration, conns)
	if err != nil {
		return err
	}
	fmt.Printf("| %s | Echo, story bytes from memory | %d | %.0f | %s | %.0f%% | %s |\n", kind, len(storyBody), storyCeil.rps, storyCeil.p99, 100*storyCeil.rps/ceil.rps, storyCeil.notes())
	for _, p := range []struct{ name, url string }{{"home", site + "/"}, {"story", story}} {
		body, err := fetch(p.url) // warm the page cache
		if err != nil {
			return err
		}
		r, err := runWrk(wrkPath, p.url, duration, conns)
		if err != nil {
			return err
		}
		fmt.Printf("| %s | %s | %d | %.0f | %s | %.0f%% | %s |\n", kind, p.name, len(body), r.rps, r.p99, 100*r.rps/ceil.rps, r.notes())
	}
	return nil
}

// serve serves h on a free loopback port and returns its origin.
func serve(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// fetch GETs url without compression and returns the body of a 200 answer.
func fetch(url string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept-Encoding", "identity") // as wrk sends no Accept-Encoding
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return b, nil
}

// wrkResult is what one wrk run measured.
type wrkResult struct {
	rps    float64
	p99    string
	non2xx int
	errors string
}

func (r wrkResult) notes() string {
	var n []string
	if r.non2xx > 0 {
		n = append(n, fmt.Sprintf("%d non-2xx answers", r.non2xx))
	}
	if r.errors != "" {
		n = append(n, r.errors)
	}
	return strings.Join(n, "; ")
}

var (
	rpsRe    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Re    = regexp.MustCompile(`\s99%\s+([0-9.]+[a-z]+)`)
	non2xxRe = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	errRe    = regexp.MustCompile(`Socket errors:[^\n]*`)
)

// runWrk runs wrk -t2 -cN -dD --latency on url and reads its summary.
func runWrk(wrk, url, duration string, conns int) (wrkResult, error) {
	out, err := exec.Command(wrk, "-t2", "-c"+strconv.Itoa(conns), "-d"+duration, "--latency", url).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %v\n%s", url, err, out)
	}
	var r wrkResult
	m := rpsRe.FindSubmatch(out)
	p := p99Re.FindSubmatch(out)
	if m == nil || p == nil {
		return r, fmt.Errorf("wrk %s: unreadable output:\n%s", url, out)
	}
	r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	r.p99 = string(p[1])
	if m := non2xxRe.FindSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(string(m[1]))
	}
	if m := errRe.Find(out); m != nil {
		r.errors = string(m)
	}
	return r, nil
}

// fill stores n visible stories from a dozen outlets, newest last, a few
// hidden ones, clusters of three, and a Similar Posts list of five for each.
func fill(ctx context.Context, st feeds.Store, n int) error {
	var srcIDs []int64
	for _, name := range outlets {
		slug := strings.ToLower(strings.ReplaceAll(name, " ", ""))
		src, err := st.AddSource(ctx, feeds.Source{
			URL: "https://" + slug + ".example/feed.xml", Title: name, SiteURL: "https://" + slug + ".example/",
		})
		if err != nil {
			return err
		}
		srcIDs = append(srcIDs, src.ID)
	}
	base := time.Now().UTC().Add(-time.Duration(n) * time.Hour)
	ids := make([]int64, 0, n)
	var leader int64
	for i := range n {
		subject := subjects[i%len(subjects)]
		verb := verbs[(i/len(subjects))%len(verbs)]
		object := objects[(i*7)%len(objects)]
		title := fmt.Sprintf("%s %s %s", subject, verb, object)
		src := srcIDs[i%len(srcIDs)]
		cluster := int64(0)
		if i%10 == 1 || i%10 == 2 {
			cluster = leader // two more outlets cover the story before
		}
		s, _, err := st.AddStory(ctx, feeds.Story{
			SourceID: src, GUID: fmt.Sprintf("bench:%d", i),
			URL:   fmt.Sprintf("https://%s.example/%d/%s", strings.ToLower(strings.ReplaceAll(outlets[i%len(outlets)], " ", "")), 2026, slugify(title)),
			Title: title,
			Summary: fmt.Sprintf("%s %s %s, according to documents seen by reporters. %s The company said it "+
				"takes privacy seriously; researchers and regulators were not convinced, and a hearing is expected next month.",
				subject, verb, object, details[i%len(details)]),
			Author: "Staff", PublishedAt: base.Add(time.Duration(i) * time.Hour), FirstSeenAt: base,
			Relevance: 0.7, Visible: i%17 != 5, Tags: tagSets[i%len(tagSets)], ClusterID: cluster,
		})
		if err != nil {
			return err
		}
		if i%10 == 0 {
			leader = s.ID
		}
		ids = append(ids, s.ID)
	}
	lists := map[int64][]feeds.Related{}
	for i, id := range ids {
		var rel []feeds.Related
		for k := 1; k <= 5; k++ {
			j := (i + k*13) % len(ids)
			rel = append(rel, feeds.Related{ID: ids[j], Score: 0.6 - 0.05*float64(k)})
		}
		lists[id] = rel
	}
	return st.SetSimilarMany(ctx, lists)
}

func slugify(s string) string {
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// The made-up outlets and headlines, shared with bench/soak.
var (
	outlets, subjects, verbs, objects = corpus.Outlets, corpus.Subjects, corpus.Verbs, corpus.Objects
	details, tagSets                  = corpus.Details, corpus.TagSets
)
