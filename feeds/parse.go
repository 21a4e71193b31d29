package feeds

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/rss"
	"golang.org/x/net/html/charset"
)

// ttlKey is where ParseFeed leaves an RSS <ttl> in gofeed.Feed.Custom, which
// the universal feed type otherwise drops.
const ttlKey = "ttl"

// ParseFeed parses an RSS (0.9x, 1.0, 2.0), Atom or JSON feed. contentType is
// the HTTP Content-Type, if known, and base the feed's URL (both may be
// empty); they help with encodings and with the error for an HTML page.
// Invalid UTF-8 bytes are replaced with U+FFFD first, so one bad byte does
// not lose the feed. A failure is a *FeedError.
func ParseFeed(body []byte, contentType string, base *url.URL) (*gofeed.Feed, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &FeedError{Reason: "empty body"}
	}
	body = toUTF8(body, contentType)

	fp := gofeed.NewParser()
	fp.RSSTranslator = rssTTLTranslator{}
	feed, err := parseSafely(fp, body)
	switch {
	case errors.Is(err, gofeed.ErrFeedTypeNotDetected):
		return nil, notAFeed(body, contentType, base)
	case err != nil:
		return nil, &FeedError{Reason: "malformed feed: " + oneLine(err.Error()), Err: err}
	}
	return feed, nil
}

// parseSafely runs fp on body, turning a panic inside the parser into an
// error: gofeed v1.4.2 dereferences nil on a JSON Feed whose first item is
// null, and one hostile feed must not bring the poller down.
func parseSafely(fp *gofeed.Parser, body []byte) (feed *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			feed, err = nil, fmt.Errorf("the parser failed on it (%v)", r)
		}
	}()
	return fp.Parse(bytes.NewReader(body))
}

// FeedTTL returns an RSS feed's <ttl> (given in minutes), or 0.
func FeedTTL(feed *gofeed.Feed) time.Duration {
	if feed == nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(feed.Custom[ttlKey]))
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(min(n, 7*24*60)) * time.Minute
}

// rssTTLTranslator is gofeed's RSS translator, keeping <ttl> and skipping
// the per-item HTML parse that only looks for images we do not use.
type rssTTLTranslator struct{}

func (rssTTLTranslator) Translate(in interface{}) (*gofeed.Feed, error) {
	t := gofeed.DefaultRSSTranslator{DisableContentImageScan: true}
	out, err := t.Translate(in)
	if err != nil || out == nil {
		return out, err
	}
	if rf, ok := in.(*rss.Feed); ok && strings.TrimSpace(rf.TTL) != "" {
		if out.Custom == nil {
			out.Custom = make(map[string]string, 1)
		}
		out.Custom[ttlKey] = strings.TrimSpace(rf.TTL)
	}
	return out, nil
}

var (
	xmlDeclEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)
	utf8BOM         = []byte{0xEF, 0xBB, 0xBF}
)

// toUTF8 makes body valid UTF-8 when it is meant to be UTF-8. An XML
// declaration naming another encoding is left to the XML decoder; failing
// that, a non-UTF-8 charset from Content-Type is converted here. Only a body
// that is (or claims to be) UTF-8 has its invalid bytes repaired: doing so
// to Latin-1 would turn every accented letter into U+FFFD.
func toUTF8(body []byte, contentType string) []byte {
	head := bytes.TrimPrefix(body, utf8BOM)
	if bytes.HasPrefix(body, []byte{0xFE, 0xFF}) || bytes.HasPrefix(body, []byte{0xFF, 0xFE}) {
		return body // UTF-16 with a byte order mark: the decoder's business
	}
	if m := xmlDeclEncoding.FindSubmatch(head[:min(len(head), 512)]); m != nil {
		if !isUTF8Label(string(m[1])) {
			return body
		}
		return repairUTF8(body)
	}
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		if cs := params["charset"]; cs != "" && !isUTF8Label(cs) {
			if r, err := charset.NewReaderLabel(cs, bytes.NewReader(body)); err == nil {
				if converted, err := io.ReadAll(r); err == nil {
					return converted
				}
			}
		}
	}
	return repairUTF8(body)
}

func isUTF8Label(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "unicode-1-1-utf-8", "us-ascii", "ascii":
		return true
	}
	return false
}

func repairUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}

// notAFeed explains a body gofeed did not recognise. For an HTML page that
// links to its feed, the reason names the feed, which is usually what the
// person meant to add.
func notAFeed(body []byte, contentType string, base *url.URL) *FeedError {
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if mediaType != "text/html" && mediaType != "application/xhtml+xml" && !looksLikeHTML(body) {
		return &FeedError{Reason: "not a feed (unrecognised format)", Err: gofeed.ErrFeedTypeNotDetected}
	}
	reason := "not a feed (HTML page)"
	if link := discoverFeed(body, base); link != "" {
		reason = "not a feed (HTML page; it links to the feed " + link + ")"
	}
	return &FeedError{Reason: reason, Err: gofeed.ErrFeedTypeNotDetected}
}

func looksLikeHTML(body []byte) bool {
	head := bytes.ToLower(bytes.TrimSpace(bytes.TrimPrefix(body[:min(len(body), 1024)], utf8BOM)))
	for _, p := range []string{"<!doctype html", "<html", "<head", "<body", "<!--"} {
		if bytes.HasPrefix(head, []byte(p)) {
			return true
		}
	}
	return false
}

// discoverFeed returns the first feed an HTML page announces with
// <link rel="alternate" type="application/rss+xml" href="…"> (see
// discoverFeeds) whose URL is short enough to quote, or "".
func discoverFeed(body []byte, base *url.URL) string {
	for _, f := range discoverFeeds(body, base, maxFoundFeeds) {
		if len(f.URL) <= maxQuotedURL {
			return f.URL
		}
	}
	return ""
}

// maxQuotedURL bounds a URL quoted in an error message.
const maxQuotedURL = 200
