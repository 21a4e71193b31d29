package views

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tidings/tidings/secrets"
)

// spliced renders body (holding slotMarker where slots go) through the page
// cache's finish and returns the page.
func spliced(t testing.TB, body []byte) *cachedPage {
	t.Helper()
	c, _ := newTestCache(1 << 30)
	p, err := c.load(context.Background(), "/k", func(context.Context) (rendered, error) {
		return rendered{body: body, contentType: "text/html"}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkSplice checks that p, served with v in its slots, is want both
// plain and gzipped, and that compress/gzip accepts the member whole (CRC
// and length included).
func checkSplice(t testing.TB, p *cachedPage, v []byte, want []byte) {
	t.Helper()
	var plain bytes.Buffer
	if p.slotted() {
		if err := p.writePlain(&plain, v); err != nil {
			t.Fatal(err)
		}
		if p.plainLen(v) != len(want) {
			t.Fatalf("plainLen %d, want %d", p.plainLen(v), len(want))
		}
	} else {
		plain.Write(p.body)
	}
	if !bytes.Equal(plain.Bytes(), want) {
		t.Fatalf("plain body differs:\n got %q\nwant %q", trunc(plain.Bytes()), trunc(want))
	}
	var member []byte
	if p.slotted() {
		pieces, n := p.gzipped(v)
		member = bytes.Join(pieces, nil)
		if n != len(member) {
			t.Fatalf("gzip length %d, pieces hold %d", n, len(member))
		}
	} else {
		member = p.gz
	}
	zr, err := gzip.NewReader(bytes.NewReader(member))
	if err != nil {
		t.Fatalf("gzip header: %v", err)
	}
	zr.Multistream(false)
	got, err := io.ReadAll(zr) // checks the CRC-32 and the length
	if err != nil {
		t.Fatalf("gzip body: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("gunzipped body differs:\n got %q\nwant %q", trunc(got), trunc(want))
	}
}

func trunc(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "…"...)
	}
	return b
}

// randomBody makes a body of html-like text, random bytes or both, with n
// slots at random places (at the ends and next to each other too).
func randomBody(r *rand.Rand, n int) (withMarkers []byte, parts [][]byte) {
	words := []string{"<p>", "</p>", "privacy ", "comment ", "<input name=\"ts\" value=\"", "\">", "\n", "WhatsApp ", "é ", "—"}
	parts = make([][]byte, n+1)
	for i := range parts {
		var b []byte
		size := r.IntN(3000)
		if r.IntN(4) == 0 {
			size = 0
		}
		for len(b) < size {
			if r.IntN(5) == 0 {
				chunk := make([]byte, r.IntN(300))
				for j := range chunk {
					chunk[j] = byte(r.UintN(256))
				}
				b = append(b, chunk...)
			} else {
				b = append(b, words[r.IntN(len(words))]...)
			}
		}
		parts[i] = b
	}
	return bytes.Join(parts, []byte(slotMarker)), parts
}

// TestSlotSpliceProperty: for random bodies with 0 to 4 slots and random
// slot values (empty, short, and longer than a stored block holds), the
// page served plain and gzipped is the body with the value in each slot,
// and the validator does not depend on the value.
func TestSlotSpliceProperty(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range 300 {
		body, parts := randomBody(r, r.IntN(5))
		p := spliced(t, body)
		if p.slotted() != (len(parts) > 1) {
			t.Fatalf("case %d: slotted %v with %d parts", i, p.slotted(), len(parts))
		}
		etag := p.etag
		for range 3 {
			var v []byte
			switch r.IntN(4) {
			case 0:
			case 1:
				v = make([]byte, 70000+r.IntN(70000)) // more than one stored block
				for j := range v {
					v[j] = byte(r.UintN(256))
				}
			default:
				v = []byte(strings.Repeat("1764070000.abc-_", 1+r.IntN(5)))
			}
			want := bytes.Join(parts, v)
			checkSplice(t, p, v, want)
			if p.etag != etag {
				t.Fatal("the validator changed")
			}
		}
	}
}

// FuzzSlotSplice: any body, split anywhere, with any value.
func FuzzSlotSplice(f *testing.F) {
	f.Add([]byte("<form><input name=ts value=\""), []byte("\"></form>"), []byte("1764070000.sig"), uint8(1))
	f.Add([]byte{}, []byte{}, []byte{}, uint8(3))
	f.Add(bytes.Repeat([]byte("abc"), 5000), []byte{0, 1, 2, 255}, bytes.Repeat([]byte{9}, 70000), uint8(2))
	f.Fuzz(func(t *testing.T, a, b, v []byte, n uint8) {
		if bytes.Contains(a, []byte(slotMarker)) || bytes.Contains(b, []byte(slotMarker)) {
			t.Skip()
		}
		parts := [][]byte{a}
		for range n % 4 {
			parts = append(parts, b)
		}
		p := spliced(t, bytes.Join(parts, []byte(slotMarker)))
		checkSplice(t, p, v, bytes.Join(parts, v))
	})
}

// TestSlotValidatorIgnoresValue: the same page with any value in its slot
// has one validator, and a different page another.
func TestSlotValidatorIgnoresValue(t *testing.T) {
	a := spliced(t, []byte("<p>before</p>"+slotMarker+"<p>after</p>"))
	b := spliced(t, []byte("<p>before</p>"+slotMarker+"<p>after</p>"))
	c := spliced(t, []byte("<p>before</p>"+slotMarker+"<p>AFTER</p>"))
	d := spliced(t, []byte("<p>before</p><p>after</p>"))
	if a.etag != b.etag || a.etag == c.etag || a.etag == d.etag {
		t.Errorf("etags: same page %s %s, changed %s, no slot %s", a.etag, b.etag, c.etag, d.etag)
	}
}

// TestServeSlotted: through servePage, each response carries the value of
// its own moment, in either encoding, with a matching Content-Length; a
// conditional request gets a 304 whatever the value.
func TestServeSlotted(t *testing.T) {
	p := spliced(t, []byte(strings.Repeat("<p>story</p>", 200)+`<input name="ts" value="`+slotMarker+`">`+strings.Repeat("<p>footer</p>", 50)))
	e := echo.New()
	values := []string{"1764070000.first", "1764070001.second"}
	for i, v := range values {
		for _, enc := range []string{"identity", "gzip"} {
			req := httptest.NewRequest(http.MethodGet, "/k", nil)
			req.Header.Set("Accept-Encoding", enc)
			w := httptest.NewRecorder()
			if err := servePage(e.NewContext(req, w), p, func() []byte { return []byte(values[i]) }); err != nil {
				t.Fatal(err)
			}
			body := w.Body.Bytes()
			if w.Header().Get("Content-Length") != strconv.Itoa(len(body)) {
				t.Errorf("%s: Content-Length %s for %d bytes", enc, w.Header().Get("Content-Length"), len(body))
			}
			if enc == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatalf("gzip: %v", err)
				}
			}
			if !bytes.Contains(body, []byte(`value="`+v+`"`)) || bytes.Contains(body, []byte(slotMarker)) {
				t.Errorf("%s response %d lacks its value %s", enc, i, v)
			}
			req.Header.Set("If-None-Match", w.Header().Get("ETag"))
			w = httptest.NewRecorder()
			if err := servePage(e.NewContext(req, w), p, func() []byte { return []byte("other") }); err != nil {
				t.Fatal(err)
			}
			if w.Code != http.StatusNotModified {
				t.Errorf("%s: If-None-Match gave %d, want 304", enc, w.Code)
			}
		}
	}
}

// TestFormClock: the slot value is the form token of the current second,
// made once a second.
func TestFormClock(t *testing.T) {
	keys, err := secrets.New(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 20, 12, 0, 0, 300e6, time.UTC)}
	f := &formClock{tokens: keys, now: clk.now}
	a, b := f.value(), f.value()
	clk.add(800 * time.Millisecond)
	c := f.value()
	if string(a) != keys.FormToken(time.Unix(1795176000, 0)) || &a[0] != &b[0] {
		t.Errorf("within a second: %s and %s, made twice: %v", a, b, &a[0] != &b[0])
	}
	if string(c) != keys.FormToken(time.Unix(1795176001, 0)) {
		t.Errorf("the next second: %s", c)
	}
	if (&formClock{now: clk.now}).value() != nil {
		t.Error("a value without FormTokens")
	}
}

// BenchmarkServeSlot compares serving one page as it is with serving it
// with a slot filled in, plain and gzipped: the cost of the splice alone.
func BenchmarkServeSlot(b *testing.B) {
	value := []byte("1764070000.iQ9ymBU_nHP44aMvj24XKwQitJYMzMX9TTKyxKUHGeI")
	head := strings.Repeat("<p>A story page, its comments and the form.</p>\n", 180)
	tail := `">` + strings.Repeat("<p>Newsletter box and footer.</p>\n", 60)
	pages := map[string]*cachedPage{
		"static":  spliced(b, []byte(head+`<input name="ts" value="`+string(value)+tail)),
		"slotted": spliced(b, []byte(head+`<input name="ts" value="`+slotMarker+tail)),
	}
	e := echo.New()
	for _, name := range []string{"static", "slotted"} {
		for _, enc := range []string{"identity", "gzip"} {
			b.Run(name+"/"+enc, func(b *testing.B) {
				req := httptest.NewRequest(http.MethodGet, "/k", nil)
				req.Header.Set("Accept-Encoding", enc)
				w := httptest.NewRecorder()
				b.ReportAllocs()
				for b.Loop() {
					w.Body.Reset()
					if err := servePage(e.NewContext(req, w), pages[name], func() []byte { return value }); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(w.Body.Len()), "bytes/page")
			})
		}
	}
}
