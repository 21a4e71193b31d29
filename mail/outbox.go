package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"
)

// outbox is the Transport used without an SMTP server: each message becomes a
// file <UTC time>-<hash of Message-ID>.eml, so a listing sorts by time.
type outbox struct {
	dir    string
	closed atomic.Bool
}

func openOutbox(dir string) (*outbox, error) {
	if dir == "" {
		return nil, errors.New("mail: no SMTP URL and no outbox directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	return &outbox{dir: dir}, nil
}

// Send implements Transport. The file appears complete or not at all: it is
// written under a temporary name and then linked to its final name, which
// never replaces an existing file.
func (o *outbox) Send(ctx context.Context, from, to string, raw []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if o.closed.Load() {
		return ErrClosed
	}
	if _, err := envelopeAddr(from); err != nil {
		return err
	}
	if err := checkAddr(to); err != nil {
		return err
	}
	key := headerValue(raw, "Message-ID")
	if key == nil {
		key = raw
	}
	sum := sha256.Sum256(key)
	base := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(sum[:4])

	f, err := os.CreateTemp(o.dir, ".tmp-*.eml") // mode 0600
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(raw)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	for i := 0; ; i++ {
		name := base
		if i > 0 {
			name += "-" + strconv.Itoa(i)
		}
		final := filepath.Join(o.dir, name+".eml")
		err := os.Link(tmp, final)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, fs.ErrExist):
			continue
		}
		// No hard links on this file system: fall back to rename, which is atomic
		// too; the name carries nanoseconds, so a clash is next to impossible.
		if _, serr := os.Lstat(final); serr == nil {
			continue
		}
		if err := os.Rename(tmp, final); err != nil {
			return fmt.Errorf("mail: outbox: %w", err)
		}
		return nil
	}
}

// headerValue returns the value of the first header field called name in raw's
// header section, or nil.
func headerValue(raw []byte, name string) []byte {
	head := raw
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head = raw[:i+2]
	}
	for len(head) > 0 {
		line := head
		if i := bytes.Index(head, []byte("\r\n")); i >= 0 {
			line, head = head[:i], head[i+2:]
		} else {
			head = nil
		}
		if len(line) > len(name) && line[len(name)] == ':' && bytes.EqualFold(line[:len(name)], []byte(name)) {
			return bytes.TrimSpace(line[len(name)+1:])
		}
	}
	return nil
}

// Close implements Transport.
func (o *outbox) Close() error {
	o.closed.Store(true)
	return nil
}
