package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/store/redistest"
)

// TestCommentsNewcomerFlow is the comments' "done when", on SQLite and on a
// Redis Cluster, through the real binary's commands and HTTP: a first comment
// is held and hidden, approved from the shell and then shown with its
// author's name and never the email; a returning commenter is published at
// once; a comment with two links is held; hostile markup stays inert text; a
// reply nests under its parent; a bot-speed or honeypot submission is not
// published; a comment without an email gets a 4xx with the text kept; a
// crawl of every public page and feed finds no address nor a hash of one; the
// store holds none in plain text.
func TestCommentsNewcomerFlow(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { commentsFlow(t, "sqlite:"+filepath.Join(t.TempDir(), "c.db")) })
	t.Run("cluster", func(t *testing.T) { commentsFlow(t, redistest.Cluster(t)) })
}

// commenter posts through the story page's form as one person on one client
// address (the site runs with --trust-proxy, so X-Forwarded-For names it).
type commenter struct {
	name, email, ip string
	own             []*http.Cookie // the signed list of their held comments
}

const (
	aliceMail = "Alice.Distinct+tidings@Example.ORG"
	bobMail   = "bob.unusual-7731@mail.example.net"
	botMail   = "bot.9902@spam.example.com"
)

func commentsFlow(t *testing.T, storeURL string) {
	ctx := context.Background()
	_, addr, base, flags := seededSite(t, storeURL)
	// A short page cache, so an approval from the shell (another process)
	// shows within a second.
	startServe(t, addr, append([]string{"--no-poll", "--no-digest", "--trust-proxy", "--cache-max-age", "1s"}, flags...))

	story := regexp.MustCompile(`href="(/stories/\d+/[^"]+)"`).FindStringSubmatch(get(t, base+"/", http.StatusOK))
	if story == nil {
		t.Fatal("no story link on the home page")
	}
	page := base + story[1]
	action := regexp.MustCompile(`^/stories/\d+`).FindString(story[1]) + "/comments"
	form := formFields(t, get(t, page, http.StatusOK), action)
	if form.Get("csrf") == "" || form.Get("ts") == "" {
		t.Fatalf("the comment form lacks its token or time stamp: %v", form)
	}

	// A bot answering at once, with the form just fetched: not published.
	bot := &commenter{name: "Quick Bot", email: botMail, ip: "198.51.100.9"}
	bot.post(t, base+action, form, "", "Instant reply from a script", http.StatusSeeOther)
	// A bot filling the hidden honeypot field: not published either.
	time.Sleep(3100 * time.Millisecond) // past the 3-second rule for the form fetched above
	trap := cloneValues(form)
	trap.Set("website2", "http://spam.example.com/")
	bot.ip = "198.51.100.10"
	bot.post(t, base+action, trap, "", "Honeypot filler text", http.StatusSeeOther)

	// A comment without an email: 4xx, the form again with the text kept.
	nomail := &commenter{name: "No Mail", ip: "198.51.100.11"}
	body := nomail.post(t, base+action, form, "", "Words I do not want to lose", http.StatusBadRequest)
	if !strings.Contains(body, "Words I do not want to lose") || !strings.Contains(body, `value="No Mail"`) || !strings.Contains(body, `id="comment-email-error"`) {
		t.Errorf("the refused form does not keep what was typed, or names no field: %s", excerpt(body, "Leave a Reply"))
	}

	// Alice's first comment is held: she sees it awaiting moderation, nobody
	// else sees it at all.
	alice := &commenter{name: "Alice Example", email: aliceMail, ip: "203.0.113.1"}
	alice.post(t, base+action, form, "", "First thoughts on the encryption news.", http.StatusSeeOther)
	if mine := alice.get(t, page); !strings.Contains(mine, "First thoughts on the encryption news.") || !strings.Contains(mine, "awaiting moderation") {
		t.Errorf("Alice does not see her held comment awaiting moderation")
	}
	if public := get(t, page, http.StatusOK); strings.Contains(public, "First thoughts") {
		t.Errorf("a held comment is shown to everyone")
	}

	// Approved from the shell, it is shown with her name.
	first := pendingID(t, ctx, flags, "First thoughts")
	moderate(t, ctx, flags, "approve", first)
	waitFor(t, page, "First thoughts on the encryption news.")
	public := get(t, page, http.StatusOK)
	if !strings.Contains(public, "Alice Example") || !strings.Contains(public, fmt.Sprintf(`id="comment-%s"`, first)) {
		t.Errorf("the approved comment lacks its author's name or its anchor")
	}

	// Returning: published at once, from another client address.
	alice.ip = "203.0.113.2"
	alice.post(t, base+action, form, "", "A second thought, published at once.", http.StatusSeeOther)
	if !strings.Contains(get(t, page, http.StatusOK), "A second thought, published at once.") {
		t.Errorf("a returning commenter's comment is not published at once")
	}
	// Two links: held, whoever writes.
	alice.ip = "203.0.113.3"
	alice.post(t, base+action, form, "", "See https://one.example.org/a and https://two.example.org/b", http.StatusSeeOther)
	if strings.Contains(get(t, page, http.StatusOK), "two.example.org") {
		t.Errorf("a comment with two links was published")
	}
	pendingID(t, ctx, flags, "two.example.org")

	// Hostile markup, approved, stays text.
	bob := &commenter{name: `Bob <script>window.__xss=1</script>`, email: bobMail, ip: "203.0.113.4"}
	bob.post(t, base+action, form, "", `<img src=x onerror="window.__xss=1"> and <a href="javascript:alert(1)">me</a>`, http.StatusSeeOther)
	hostile := pendingID(t, ctx, flags, "onerror")
	moderate(t, ctx, flags, "approve", hostile)
	public = waitFor(t, page, "onerror")
	for _, raw := range []string{"<script>window.__xss", "<img src=x", `<a href="javascript:`} {
		if strings.Contains(public, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	if !strings.Contains(public, "&lt;img src=x onerror=") || !strings.Contains(public, "Bob &lt;script&gt;") {
		t.Errorf("the hostile comment is not shown as escaped text: %s", excerpt(public, "comment-"+hostile))
	}

	// A reply to Bob nests under his comment.
	alice.ip = "203.0.113.5"
	reply := cloneValues(form)
	reply.Set("parent", hostile)
	alice.post(t, base+action, reply, "", "Replying to Bob, in the thread.", http.StatusSeeOther)
	public = get(t, page, http.StatusOK)
	nested := regexp.MustCompile(`(?s)id="comment-` + hostile + `".*?<ol class="children">\s*<li>\s*<article id="comment-\d+"[^>]*>.*?Replying to Bob, in the thread\.`)
	if !nested.MatchString(public) {
		t.Errorf("the reply is not nested under its parent: %s", excerpt(public, "comment-"+hostile))
	}

	// The bots' comments never appeared, and are not even waiting.
	for _, text := range []string{"Instant reply from a script", "Honeypot filler text"} {
		if strings.Contains(public, text) {
			t.Errorf("a bot's comment %q was published", text)
		}
	}
	if _, out, _ := tidings(t, ctx, append([]string{"comments", "pending"}, flags...)...); strings.Contains(out, "Instant reply") || strings.Contains(out, "Honeypot filler") {
		t.Errorf("a bot's comment waits for moderation: %s", out)
	}

	// The crawl: no address, nor an MD5, SHA-1 or SHA-256 of one, in any page,
	// feed or header.
	storyID := strings.Split(story[1], "/")[2]
	paths := []string{"/", story[1], "/stories/" + storyID + "/comments.xml", "/feed.xml", "/atom.xml", "/feed.json",
		"/sitemap.xml", "/robots.txt", "/search?q=encryption", "/newsletter", "/subscribe", "/topics/encryption",
		story[1] + "?replyto=" + hostile}
	for _, m := range regexp.MustCompile(`href="(/sources/\d+)"`).FindAllStringSubmatch(public, -1) {
		paths = append(paths, m[1])
	}
	secrets := addressForms(aliceMail, bobMail, botMail)
	crawled := 0
	for _, p := range paths {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var all bytes.Buffer
		resp.Header.Write(&all)
		all.Write(b)
		low := strings.ToLower(all.String())
		for _, s := range secrets {
			if strings.Contains(low, s) {
				t.Errorf("GET %s (%d) holds %q", p, resp.StatusCode, s)
			}
		}
		crawled += len(b)
	}
	if !strings.Contains(get(t, base+"/stories/"+storyID+"/comments.xml", http.StatusOK), "Replying to Bob") {
		t.Error("the comments feed lacks an approved comment: the crawl read nothing")
	}
	// Alice's own view, with her cookie, holds no address either.
	for _, s := range secrets {
		if strings.Contains(strings.ToLower(alice.get(t, page)), s) {
			t.Errorf("the author's own view holds %q", s)
		}
	}

	// The store: no address in plain text.
	var dump []byte
	if path, ok := strings.CutPrefix(storeURL, "sqlite:"); ok {
		files, _ := filepath.Glob(path + "*")
		for _, f := range files {
			b, _ := os.ReadFile(f)
			dump = append(dump, b...)
		}
	} else {
		dump = redistest.Dump(t, storeURL)
	}
	if !bytes.Contains(dump, []byte("Replying to Bob")) {
		t.Fatal("the store dump lacks a stored comment: it was not read whole")
	}
	low := bytes.ToLower(dump)
	for _, a := range []string{aliceMail, bobMail, botMail, "alice.distinct", "bob.unusual-7731"} {
		if bytes.Contains(low, []byte(strings.ToLower(a))) {
			t.Errorf("the store holds %q in plain text", a)
		}
	}
}

// post sends the comment form as c, from c's address, keeping the signed
// cookie the site sets for held comments, and returns the answer's body.
func (c *commenter) post(t *testing.T, action string, hidden url.Values, website, text string, want int) string {
	t.Helper()
	form := cloneValues(hidden)
	form.Set("author", c.name)
	form.Set("email", c.email)
	form.Set("url", website)
	form.Set("comment", text)
	req, _ := http.NewRequest(http.MethodPost, action, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", c.ip)
	for _, ck := range c.own {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s's comment %q: %d, want %d: %s", c.name, text, resp.StatusCode, want, b)
	}
	if cks := resp.Cookies(); len(cks) > 0 {
		c.own = cks
	}
	return string(b)
}

// get reads a page as c, with c's cookie.
func (c *commenter) get(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	for _, ck := range c.own {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// pendingID finds, in `comments pending`, the held comment whose line holds
// text, and returns its ID (the first field).
func pendingID(t *testing.T, ctx context.Context, flags []string, text string) string {
	t.Helper()
	code, out, errOut := tidings(t, ctx, append([]string{"comments", "pending"}, flags...)...)
	if code != 0 {
		t.Fatalf("comments pending: %d %s", code, errOut)
	}
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, text) {
			return strings.Fields(line)[0]
		}
	}
	t.Fatalf("no held comment with %q in:\n%s", text, out)
	return ""
}

func moderate(t *testing.T, ctx context.Context, flags []string, verb, id string) {
	t.Helper()
	if code, out, errOut := tidings(t, ctx, append([]string{"comments", verb, id}, flags...)...); code != 0 || !strings.Contains(out, "comment "+id) {
		t.Fatalf("comments %s %s: %d %s %s", verb, id, code, out, errOut)
	}
}

// waitFor reads the public page until it holds text: a change made by
// another process shows once the page cache (1 s here) lets it go.
func waitFor(t *testing.T, page, text string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		body := get(t, page, http.StatusOK)
		if strings.Contains(body, text) {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never showed %q", page, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// addressForms lists, in lower case, each address as typed and normalised,
// and the hex MD5, SHA-1 and SHA-256 of both (what Gravatar-style avatars or
// careless logging would leak).
func addressForms(addrs ...string) []string {
	var out []string
	for _, a := range addrs {
		for _, v := range []string{a, strings.ToLower(a), strings.TrimSpace(a)} {
			m, s1, s256 := md5.Sum([]byte(v)), sha1.Sum([]byte(v)), sha256.Sum256([]byte(v))
			out = append(out, strings.ToLower(v), hex.EncodeToString(m[:]), hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:]))
		}
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// excerpt is the part of a page around marker, for failure messages.
func excerpt(page, marker string) string {
	i := strings.Index(page, marker)
	if i < 0 {
		return page
	}
	return page[max(0, i-200):min(len(page), i+1500)]
}
