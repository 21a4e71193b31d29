package views

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
)

// A page in the cache may hold slots: places filled in for each response,
// at serve time, with one value (the signed time the comment form was
// served, which must be this response's time or a bot that fetches and posts
// at once would pass for a slow human). The rendered body holds slotMarker
// at each place; the cache keeps the parts between the markers and, for
// gzip, one raw DEFLATE segment per part:
//
//   - every segment but the last is written by a fresh flate.Writer and
//     Flush()ed: it ends byte-aligned, with no final block;
//   - the last one is Close()d: it holds the final block;
//   - a segment never refers back past its own start, so segments can be
//     joined with other blocks between them.
//
// A response is then the gzip header, the segments with a stored block
// (BTYPE 00, not final) holding the slot value between each two of them,
// and the CRC-32 and length of the whole body: the CRC of the first part is
// kept, the rest is a crc32.Update over the value and the later parts,
// which are short (the form is near the end of a page). The ETag hashes the
// parts alone, so it does not change with the value and 304s keep working.

// slotMarker stands for a slot in a rendered page. It is random for each
// process and never sent to anyone, so no text from a feed or a commenter
// can hold it; it is made of letters and digits, so templates print it
// unescaped in any context.
var slotMarker = "slot" + rand.Text()

// gzipHeader starts every gzip member the cache serves: deflate, no name or
// time, maximum compression, unknown OS (as compress/gzip writes it).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff}

// flateWriters are reused: a writer at the best compression level holds
// about a megabyte of tables, and a page with a slot needs two.
var flateWriters = sync.Pool{New: func() any {
	zw, _ := flate.NewWriter(nil, flate.BestCompression) // the level is valid
	return zw
}}

// deflateParts compresses each part into its own segment, as described
// above, and returns the segments.
func deflateParts(parts [][]byte) [][]byte {
	var buf bytes.Buffer
	ends := make([]int, len(parts))
	zw := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(zw)
	for i, part := range parts {
		zw.Reset(&buf)
		_, _ = zw.Write(part) // a bytes.Buffer does not fail
		if i == len(parts)-1 {
			_ = zw.Close()
		} else {
			_ = zw.Flush()
		}
		ends[i] = buf.Len()
	}
	all := buf.Bytes()
	segs := make([][]byte, len(parts))
	start := 0
	for i, end := range ends {
		segs[i] = all[start:end:end]
		start = end
	}
	return segs
}

// gzipMember wraps one closed DEFLATE segment of body into a gzip member.
func gzipMember(body []byte) []byte {
	seg := deflateParts([][]byte{body})[0]
	out := make([]byte, 0, len(gzipHeader)+len(seg)+8)
	out = append(out, gzipHeader...)
	out = append(out, seg...)
	return appendTrailer(out, crc32.ChecksumIEEE(body), len(body))
}

// appendTrailer appends the gzip trailer: CRC-32 and length modulo 2³².
func appendTrailer(b []byte, crc uint32, n int) []byte {
	b = binary.LittleEndian.AppendUint32(b, crc)
	return binary.LittleEndian.AppendUint32(b, uint32(n))
}

// storedBlocks returns v as non-final stored DEFLATE blocks: each a zero
// header byte (BFINAL 0, BTYPE 00, padding), LEN and its complement NLEN,
// then up to 65,535 bytes.
func storedBlocks(v []byte) []byte {
	out := make([]byte, 0, len(v)+5*(len(v)/0xffff+1))
	for {
		n := min(len(v), 0xffff)
		out = append(out, 0, byte(n), byte(n>>8), ^byte(n), ^byte(n>>8))
		out = append(out, v[:n]...)
		v = v[n:]
		if len(v) == 0 {
			return out
		}
	}
}

// splitSlots fills in p's parts, segments, validator and gzipped copy from
// its rendered body.
func (p *cachedPage) splitSlots() {
	p.parts = bytes.Split(p.body, []byte(slotMarker))
	if len(p.parts) == 1 {
		sum := sha256.Sum256(p.body)
		p.etag = `"` + hex.EncodeToString(sum[:12]) + `"`
		p.gz = gzipMember(p.body)
		return
	}
	h := sha256.New()
	for _, part := range p.parts {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
		h.Write(part)
	}
	p.etag = `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
	p.segs = deflateParts(p.parts)
	p.crc0 = crc32.ChecksumIEEE(p.parts[0])
	p.body = nil // the parts hold it
}

// slotted reports whether p has slots to fill in.
func (p *cachedPage) slotted() bool { return len(p.parts) > 1 }

// plainLen is the length of p's body with v in each slot.
func (p *cachedPage) plainLen(v []byte) int {
	n := (len(p.parts) - 1) * len(v)
	for _, part := range p.parts {
		n += len(part)
	}
	return n
}

// writePlain writes p's body with v in each slot.
func (p *cachedPage) writePlain(w io.Writer, v []byte) error {
	for i, part := range p.parts {
		if i > 0 {
			if _, err := w.Write(v); err != nil {
				return err
			}
		}
		if _, err := w.Write(part); err != nil {
			return err
		}
	}
	return nil
}

// gzipped returns the pieces of p's gzip member with v in each slot, and
// their total length. The pieces share p's segments: write, don't change.
func (p *cachedPage) gzipped(v []byte) (pieces [][]byte, n int) {
	stored := storedBlocks(v)
	crc := p.crc0
	for _, part := range p.parts[1:] {
		crc = crc32.Update(crc, crc32.IEEETable, v)
		crc = crc32.Update(crc, crc32.IEEETable, part)
	}
	pieces = make([][]byte, 0, 2*len(p.segs)+1)
	pieces = append(pieces, gzipHeader)
	for i, seg := range p.segs {
		if i > 0 {
			pieces = append(pieces, stored)
		}
		pieces = append(pieces, seg)
	}
	pieces = append(pieces, appendTrailer(nil, crc, p.plainLen(v)))
	for _, piece := range pieces {
		n += len(piece)
	}
	return pieces, n
}

// writeSlotted answers for a page with slots, filling them with v.
func writeSlotted(c echo.Context, p *cachedPage, gz bool, v []byte) error {
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, p.contentType)
	if !gz {
		h.Set(echo.HeaderContentLength, strconv.Itoa(p.plainLen(v)))
		c.Response().WriteHeader(200)
		return p.writePlain(c.Response(), v)
	}
	pieces, n := p.gzipped(v)
	h.Set(echo.HeaderContentEncoding, "gzip")
	h.Set(echo.HeaderContentLength, strconv.Itoa(n))
	c.Response().WriteHeader(200)
	for _, piece := range pieces {
		if _, err := c.Response().Write(piece); err != nil {
			return err
		}
	}
	return nil
}

// formClock makes the value of the form-time slot: the form token of the
// current second (secrets.Keys.FormToken has a one-second resolution),
// made once a second however many pages are served in it.
type formClock struct {
	tokens FormTokens
	now    func() time.Time
	last   atomic.Pointer[formStamp]
}

type formStamp struct {
	sec   int64
	token []byte
}

// value is the form token for forms served now; nil without FormTokens.
func (f *formClock) value() []byte {
	if f.tokens == nil {
		return nil
	}
	now := f.now()
	if st := f.last.Load(); st != nil && st.sec == now.Unix() {
		return st.token
	}
	st := &formStamp{sec: now.Unix(), token: []byte(f.tokens.FormToken(now))}
	f.last.Store(st)
	return st.token
}
