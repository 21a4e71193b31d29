package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"

	"github.com/tidings/tidings/comments"
	"github.com/tidings/tidings/feeds"
	"github.com/tidings/tidings/newsletter"
)

// ErrNotEmpty means Import was given a store that already holds data.
var ErrNotEmpty = errors.New("transfer: the target store is not empty")

// MaxLine is the longest line Import reads (an issue's HTML can be large).
const MaxLine = 64 << 20

// ImportOptions tune Import; the zero value is fine.
type ImportOptions struct {
	// Force imports into a store that is not empty, to finish an import
	// that was cut short: records already there are kept (see Restorer).
	// Without it, a store holding anything is refused with ErrNotEmpty.
	Force bool
	// CheckKey, when set, is called with the header's key check (see
	// ExportOptions.KeyCheck) before anything is written; an error stops
	// the import.
	CheckKey func(sealed []byte) error
	// Progress, when set, is called with the counts written so far after
	// each batch.
	Progress func(Counts)
}

// Check reads an export from r and checks every line, as Import does,
// without writing anything. It returns the counts of records by kind.
func Check(r io.Reader) (Counts, error) {
	im := newImporter(nil, ImportOptions{})
	err := im.run(context.Background(), r)
	return im.read, err
}

// Import reads an export from r into st, which must be empty unless
// o.Force is set. Records are written in batches as they are read, so a
// file of any size needs little memory. It returns the counts of records
// written. Bad input stops it with a *LineError naming the line; what was
// written before stays written and is counted in the result (run Check
// first to refuse a bad file before writing anything).
func Import(ctx context.Context, st Restorer, r io.Reader, o ImportOptions) (Counts, error) {
	im := newImporter(st, o)
	err := im.run(ctx, r)
	return im.written, err
}

// importer reads records and, when it has a store, writes them in batches.
type importer struct {
	st      Restorer // nil: check only
	o       ImportOptions
	line    int
	read    Counts // records read and checked
	written Counts // records written to st
	weeks   map[string]bool
	ended   bool

	// The batch being gathered: one kind at a time, from line first on.
	kind        string
	first       int
	sources     []feeds.Source
	stories     []feeds.Story
	subscribers []newsletter.Subscriber
	deliveries  []newsletter.Delivery
	comments    []comments.Comment
	counters    map[string]int64
}

func newImporter(st Restorer, o ImportOptions) *importer {
	return &importer{st: st, o: o, read: Counts{}, written: Counts{}, weeks: map[string]bool{}, counters: map[string]int64{}}
}

func (im *importer) bad(format string, args ...any) error {
	return &LineError{Line: im.line, Err: fmt.Errorf(format, args...)}
}

// run reads every line of r. At bad input it writes the records read
// before the bad line, so that what was written ends at a line the error
// names, and returns the *LineError.
func (im *importer) run(ctx context.Context, r io.Reader) error {
	err := im.lines(ctx, r)
	var le *LineError
	if errors.As(err, &le) {
		if ferr := im.flush(ctx); ferr != nil {
			return errors.Join(err, ferr)
		}
	}
	return err
}

func (im *importer) lines(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		var err error
		buf, err = readLine(br, buf[:0])
		if len(buf) == 0 && errors.Is(err, io.EOF) {
			break
		}
		im.line++
		switch {
		case errors.Is(err, errLongLine):
			return im.bad("longer than %d MiB", MaxLine>>20)
		case errors.Is(err, io.EOF):
			return im.bad("cut short (it does not end with a line break): the file is truncated")
		case err != nil:
			return fmt.Errorf("transfer: reading line %d: %w", im.line, err)
		}
		if im.ended {
			return im.bad("a record after the end record")
		}
		if err := im.record(ctx, bytes.TrimSuffix(buf, []byte("\n"))); err != nil {
			return err
		}
	}
	switch {
	case im.line == 0:
		return &LineError{Line: 1, Err: errors.New("the input is empty: not a Tidings export")}
	case !im.ended:
		im.line++
		return im.bad("the input ends here without its end record: the export is incomplete (truncated?)")
	}
	return nil
}

var errLongLine = errors.New("line too long")

// readLine appends the next line, with its line break, to buf. At the end
// of the input it returns what it read and io.EOF.
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > MaxLine {
			return buf, errLongLine
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return buf, err
		}
	}
}

// decode reads line into v, refusing unknown fields.
func decode(line []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	return dec.Decode(v) // json.Unmarshal of the kind refused trailing data
}

// record checks one line and adds it to the batch (or writes it).
func (im *importer) record(ctx context.Context, line []byte) error {
	var k kindOnly
	if err := json.Unmarshal(line, &k); err != nil {
		if im.line == 1 {
			return im.bad("not a Tidings export (not JSON: %v)", err)
		}
		return im.bad("not JSON: %v", err)
	}
	if im.line == 1 {
		return im.header(ctx, line, k.Kind)
	}
	var err error
	switch k.Kind {
	case KindMark:
		err = im.mark(ctx, line)
	case KindSource:
		var r sourceRec
		err = im.add(ctx, line, &r, func() error {
			s, err := r.source()
			if err == nil {
				im.sources = append(im.sources, s)
			}
			return err
		})
	case KindStory:
		var r storyRec
		err = im.add(ctx, line, &r, func() error {
			s, err := r.story()
			if err == nil {
				im.stories = append(im.stories, s)
			}
			return err
		})
	case KindSubscriber:
		var r subscriberRec
		err = im.add(ctx, line, &r, func() error {
			s, err := r.subscriber()
			if err == nil {
				im.subscribers = append(im.subscribers, s)
			}
			return err
		})
	case KindIssue:
		err = im.issue(ctx, line)
	case KindDelivery:
		var r deliveryRec
		err = im.add(ctx, line, &r, func() error {
			d, err := r.delivery()
			if err == nil && !im.weeks[d.Week] {
				err = fmt.Errorf("a delivery of week %q before that week's issue record", d.Week)
			}
			if err == nil {
				im.deliveries = append(im.deliveries, d)
			}
			return err
		})
	case KindComment:
		var r commentRec
		err = im.add(ctx, line, &r, func() error {
			c, err := r.comment()
			if err == nil {
				im.comments = append(im.comments, c)
			}
			return err
		})
	case KindAdminPassword:
		err = im.adminPassword(ctx, line)
	case KindCounters:
		var r countersRec
		if err = decode(line, &r); err == nil {
			err = r.check()
		}
		if err != nil {
			return im.bad("a counters record: %v", err)
		}
		maps.Copy(im.counters, r.Counters)
	case KindEnd:
		err = im.end(ctx, line)
	case KindHeader:
		return im.bad("a second header")
	case "":
		return im.bad(`a record without a "kind"`)
	default:
		return im.bad("unknown kind %q", k.Kind)
	}
	return err
}

func (im *importer) header(ctx context.Context, line []byte, kind string) error {
	var h headerRec
	if kind != KindHeader || decode(line, &h) != nil || h.Format != Format {
		return im.bad("not a Tidings export (the first line is not its header)")
	}
	if h.Version != Version {
		return im.bad("format version %d is not supported: this tidings reads version %d", h.Version, Version)
	}
	if im.st == nil {
		return nil
	}
	if im.o.CheckKey != nil && h.KeyCheck != nil {
		if err := im.o.CheckKey(h.KeyCheck); err != nil {
			return im.bad("%w", err)
		}
	}
	if !im.o.Force {
		empty, err := im.st.IsEmpty(ctx)
		if err != nil {
			return fmt.Errorf("transfer: import: %w", err)
		}
		if !empty {
			return ErrNotEmpty
		}
	}
	return nil
}
