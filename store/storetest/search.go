package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/feeds"
)

// searchCorpus is the search fixture: named stories among enough filler that
// no searched word is in half the stories (where BM25's idf would be ~0).
type searchCorpus struct {
	byName     map[string]feeds.Story
	ransomware []feeds.Story // identical texts, newest first
	count      int           // every story stored, hidden ones included
}

// named stories of the search fixture: name, title, summary, minutes after
// base, visible.
var searchFixture = []struct {
	name, title, summary string
	minutes              int
	visible              bool
}{
	{"wa-boss", "WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims",
		"The messaging app's chief says end-to-end encryption protects every chat, while critics point to the metadata it keeps.", 10, true},
	{"wa-ads", "WhatsApp to show ads in its Updates tab",
		"Ads will be chosen by country, language and the channels a person follows.", 20, true},
	{"telecom", "Telecom kept call metadata for years, regulator finds",
		"Logs of who called whom were stored far beyond the legal limit.", 30, true},
	{"signal", "Signal adds post-quantum encryption to its protocol",
		"The upgrade protects chats against the computers of tomorrow.", 40, true},
	{"gates", "Airport biometric gates reach twelve more cities",
		"Travellers can still opt out and show a passport to an officer instead.", 50, true},
	{"council", "City council votes on camera rules for squares",
		"The rules cover biometric matching in public places and a yearly audit.", 60, true},
	{"retailer", "Retailer confirms breaches of loyalty accounts",
		"Card numbers were not taken, the shop says, but home addresses were.", 70, true},
	{"munich", "Überwachung in München: Stadtrat stoppt Kameras",
		"Der Stadtrat stimmt gegen neue Kameras am Bahnhof.", 80, true},
	{"hidden", "Quokka selfie app leaks location trails",
		"A hidden story: its words must never be found, not even metadata.", 90, false},
}

// fillerWords make filler stories that share no word with the fixture.
var fillerWords = strings.Fields(`garden tomato compost rainfall orchard
	beekeeping lantern pottery violin harbour kayak meadow chestnut glacier
	pebble canyon saffron walnut lighthouse marigold`)

func addSearchCorpus(t *testing.T, s feeds.Store) searchCorpus {
	t.Helper()
	c := searchCorpus{byName: map[string]feeds.Story{}}
	var batch []feeds.Story
	for i := range 40 {
		st := newStory(1000+i, 1, base.Add(-time.Duration(i+1)*time.Hour))
		w := func(k int) string { return fillerWords[(i*7+k*3)%len(fillerWords)] }
		st.Title = fmt.Sprintf("The %s and %s column, part %d", w(0), w(1), i)
		st.Summary = fmt.Sprintf("Notes on %s, %s and %s for the weekend.", w(2), w(3), w(4))
		batch = append(batch, st)
	}
	for i := range 7 {
		st := newStory(2000+i, 2, base.Add(time.Duration(100+i)*time.Minute))
		st.Title = "Ransomware gang hits regional hospital network"
		st.Summary = "Appointments were moved while systems were restored from backups."
		batch = append(batch, st)
	}
	added, err := s.AddStories(t.Context(), batch) // the batch path…
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range added[40:] {
		c.ransomware = append(c.ransomware, a.Story)
	}
	slices.Reverse(c.ransomware)
	for i, f := range searchFixture { // …and the single one
		st := newStory(3000+i, 3, base.Add(time.Duration(f.minutes)*time.Minute))
		st.Title, st.Summary, st.Visible = f.title, f.summary, f.visible
		c.byName[f.name] = mustAddStory(t, s, st)
	}
	c.count = len(batch) + len(searchFixture)
	return c
}

// names lists the fixture names of stories, or their IDs when unnamed.
func (c searchCorpus) names(sts []feeds.Story) []string {
	var out []string
next:
	for _, st := range sts {
		for name, n := range c.byName {
			if n.ID == st.ID {
				out = append(out, name)
				continue next
			}
		}
		out = append(out, fmt.Sprint(st.ID))
	}
	return out
}

func testSearch(t *testing.T, s feeds.Store) {
	c := addSearchCorpus(t, s)
	for _, tc := range []struct {
		why, query string
		want       []string // in rank order
	}{
		{"a summary word", "chats", []string{"signal", "wa-boss"}},
		{"a title word", "telecom", []string{"telecom"}},
		{"a title match ranks above a summary-only one, newer as it is", "biometric", []string{"gates", "council"}},
		{"title above summary, again", "metadata", []string{"telecom", "wa-boss"}},
		{"case and possessives fold", "WHATSAPP's", []string{"wa-ads", "wa-boss"}},
		{"inflections fold", "breached", []string{"retailer"}},
		{"every term must match", "whatsapp metadata", []string{"wa-boss"}},
		{"terms in title and summary together", "airport passport", []string{"gates"}},
		{"no story has both", "whatsapp quantum", nil},
		{"the last term is a prefix too", "encrypt", []string{"signal", "wa-boss"}},
		{"a prefix in mid-word", "quant", []string{"signal"}},
		{"only the last term is a prefix", "encrypt signal", nil},
		{"the last term, as a prefix", "signal encrypt", []string{"signal"}},
		{"common words are dropped", "the whatsapp of ads", []string{"wa-ads"}},
		{"letters beyond ASCII", "ÜBERWACHUNG münchen", []string{"munich"}},
		{"a hidden story is never found", "quokka", nil},
		{"a hidden story is never found, even by shared words", "selfie metadata", nil},
		{"operators are plain words", "whatsapp* AND NOT metadata", []string{"wa-boss"}},
		{"quotes are separators", `"whatsapp" "ads"`, []string{"wa-ads"}},
	} {
		res, err := s.Search(t.Context(), feeds.SearchQuery{Text: tc.query})
		if err != nil {
			t.Errorf("%s: Search(%q): %v", tc.why, tc.query, err)
			continue
		}
		if got := c.names(res.Stories); !slices.Equal(got, tc.want) || res.Total != len(tc.want) {
			t.Errorf("%s: Search(%q) = %q (total %d), want %q", tc.why, tc.query, got, res.Total, tc.want)
		}
	}

	// Found stories are whole.
	res, err := s.Search(t.Context(), feeds.SearchQuery{Text: "telecom"})
	if err != nil || len(res.Stories) != 1 {
		t.Fatalf("Search(telecom) = %v, %v", res, err)
	}
	if d := diffStory(res.Stories[0], c.byName["telecom"]); d != "" {
		t.Errorf("a found story differs from the stored one: %s", d)
	}
}

// testSearchPages: equal scores list the newest first; pages cut that order
// and each says how many there are in all.
func testSearchPages(t *testing.T, s feeds.Store) {
	c := addSearchCorpus(t, s)
	want := ids(c.ransomware)
	var got []int64
	for off := 0; off < 9; off += 3 {
		res, err := s.Search(t.Context(), feeds.SearchQuery{Text: "ransomware hospital", Limit: 3, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		if res.Total != len(want) {
			t.Errorf("offset %d: Total = %d, want %d", off, res.Total, len(want))
		}
		got = append(got, ids(res.Stories)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want the newest first: %v", got, want)
	}
	for _, q := range []feeds.SearchQuery{
		{Text: "ransomware", Offset: 7},
		{Text: "ransomware", Offset: 1000, Limit: 5},
	} {
		res, err := s.Search(t.Context(), q)
		if err != nil || len(res.Stories) != 0 || res.Total != len(want) {
			t.Errorf("Search(%+v) past the end = %v (total %d), %v; want none of %d",
				q, ids(res.Stories), res.Total, err, len(want))
		}
	}
	// No limit means the default page, a negative offset none.
	res, err := s.Search(t.Context(), feeds.SearchQuery{Text: "ransomware", Offset: -5})
	if err != nil || !slices.Equal(ids(res.Stories), want) {
		t.Errorf("Search without a limit = %v, %v; want %v", ids(res.Stories), err, want)
	}
}

// testSearchBadQuery: queries that cannot be run are refused with a reason.
func testSearchBadQuery(t *testing.T, s feeds.Store) {
	addSearchCorpus(t, s)
	for _, q := range []string{
		"", "   \u3000 ", "the and of", "a b c", "AND OR NOT", "— … !!",
		strings.Repeat("privacy ", 26), // 208 characters
		"privacy\x00", "privacy\nleak", "privacy\tleak", "\x1b[31mred", "privacy\u0085",
		"bad \xff\xfe utf-8",
	} {
		res, err := s.Search(t.Context(), feeds.SearchQuery{Text: q})
		if !errors.Is(err, feeds.ErrBadQuery) {
			t.Errorf("Search(%q) = %v, %v; want ErrBadQuery", q, ids(res.Stories), err)
			continue
		}
		var bad *feeds.BadQueryError
		if !errors.As(err, &bad) || bad.Reason == "" {
			t.Errorf("Search(%q): %v carries no reason for the reader", q, err)
		}
	}
	// 200 characters is still fine.
	q := strings.Repeat("ransomware ", 17) + "hospital"
	q += strings.Repeat(" ", 200-len(q))
	if res, err := s.Search(t.Context(), feeds.SearchQuery{Text: q}); err != nil || res.Total != 7 {
		t.Errorf("Search of %d characters = %d, %v; want 7 stories", len([]rune(q)), res.Total, err)
	}
}

// testSearchInjection: nothing a reader types is query syntax to a store;
// every query yields results or ErrBadQuery, and the store is unharmed.
func testSearchInjection(t *testing.T, s feeds.Store) {
	c := addSearchCorpus(t, s)
	for _, q := range []string{
		`"`, `""`, `"whatsapp`, `*`, `whatsapp*`, `**`, `NEAR(`, `NEAR(whatsapp metadata, 2)`,
		`title:x`, `title:whatsapp`, `{title summary}: ads`, `summary : metadata`,
		`'; DROP TABLE stories; --`, `"; DELETE FROM story_search; --`, `' OR '1'='1`,
		`AND OR NOT`, `whatsapp OR 1=1`, `whatsapp NOT ads`, `-whatsapp`, `+whatsapp`,
		`^whatsapp`, `(whatsapp`, `)`, `whatsapp)`, `[`, `%`, `_`, `\`, `\\"`, `$`,
		`{stories}:keys`, `search:{x}`, `*:*`, "\xef\xbc\xb7hatsapp", "ｗｈａｔｓａｐｐ",
		"e\u0301ncryption", strings.Repeat("x", 200), strings.Repeat("é", 200),
		strings.Repeat("ab ", 66), `0`, `1e9`, `-1`, `NULL`, `rowid = 1`,
	} {
		_, err := s.Search(t.Context(), feeds.SearchQuery{Text: q})
		if err != nil && !errors.Is(err, feeds.ErrBadQuery) {
			t.Errorf("Search(%q): %v; want results or ErrBadQuery", q, err)
		}
	}
	countIs(t, s, feeds.StoryFilter{}, c.count)
	res, err := s.Search(t.Context(), feeds.SearchQuery{Text: "whatsapp"})
	if err != nil || res.Total != 2 {
		t.Errorf("after the odd queries, Search(whatsapp) = %d stories, %v; want 2", res.Total, err)
	}
}
