package transfer

import (
	"context"
	"fmt"
)

// batch sizes of the Restore calls.
const (
	sourceBatch     = 200
	storyBatch      = 200
	subscriberBatch = 500
	deliveryBatch   = 1000
	commentBatch    = 500
)

// add decodes a batched record into r and lets take check it and append it
// to its batch, after flushing a batch of another kind.
func (im *importer) add(ctx context.Context, line []byte, r any, take func() error) error {
	kind := kindOf(r)
	if err := decode(line, r); err != nil {
		return im.bad("a %s record: %v", kind, err)
	}
	if kind != im.kind {
		if err := im.flush(ctx); err != nil {
			return err
		}
		im.kind, im.first = kind, im.line
	}
	if err := take(); err != nil {
		return im.bad("%v", err)
	}
	im.read[kind]++
	if im.batchLen() >= batchSize(kind) {
		return im.flush(ctx)
	}
	return nil
}

func kindOf(r any) string {
	switch r.(type) {
	case *sourceRec:
		return KindSource
	case *storyRec:
		return KindStory
	case *subscriberRec:
		return KindSubscriber
	case *deliveryRec:
		return KindDelivery
	case *commentRec:
		return KindComment
	}
	panic(fmt.Sprintf("transfer: no batch for %T", r))
}

func batchSize(kind string) int {
	switch kind {
	case KindSource:
		return sourceBatch
	case KindStory:
		return storyBatch
	case KindSubscriber:
		return subscriberBatch
	case KindDelivery:
		return deliveryBatch
	}
	return commentBatch
}

func (im *importer) batchLen() int {
	return len(im.sources) + len(im.stories) + len(im.subscribers) + len(im.deliveries) + len(im.comments)
}

// flush writes the batch gathered so far.
func (im *importer) flush(ctx context.Context) error {
	n := im.batchLen()
	if n == 0 {
		return nil
	}
	var err error
	if im.st != nil {
		switch im.kind {
		case KindSource:
			err = im.st.RestoreSources(ctx, im.sources)
		case KindStory:
			err = im.st.RestoreStories(ctx, im.stories)
		case KindSubscriber:
			err = im.st.RestoreSubscribers(ctx, im.subscribers)
		case KindDelivery:
			err = im.st.RestoreDeliveries(ctx, im.deliveries)
		case KindComment:
			err = im.st.RestoreComments(ctx, im.comments)
		}
	}
	if err != nil {
		return fmt.Errorf("transfer: import: writing the records of lines %d to %d: %w", im.first, im.line, err)
	}
	im.sources, im.stories, im.subscribers = im.sources[:0], im.stories[:0], im.subscribers[:0]
	im.deliveries, im.comments = im.deliveries[:0], im.comments[:0]
	im.first = im.line + 1
	if im.st != nil {
		im.written[im.kind] += n
		im.progress()
	}
	return nil
}

func (im *importer) progress() {
	if im.o.Progress != nil {
		im.o.Progress(im.written.clone())
	}
}

func (im *importer) mark(ctx context.Context, line []byte) error {
	var r markRec
	if err := decode(line, &r); err != nil || r.Name == "" {
		return im.bad("a mark record without a name (%v)", err)
	}
	im.read[KindMark]++
	if err := im.flush(ctx); err != nil || im.st == nil {
		return err
	}
	if _, err := im.st.MarkOnce(ctx, r.Name); err != nil {
		return fmt.Errorf("transfer: import: line %d: %w", im.line, err)
	}
	im.written[KindMark]++
	return nil
}

func (im *importer) issue(ctx context.Context, line []byte) error {
	var r issueRec
	if err := decode(line, &r); err != nil {
		return im.bad("an issue record: %v", err)
	}
	is, err := r.issue()
	if err != nil {
		return im.bad("%v", err)
	}
	if im.weeks[is.Week] {
		return im.bad("a second issue of week %s", is.Week)
	}
	im.weeks[is.Week] = true
	im.read[KindIssue]++
	if err := im.flush(ctx); err != nil || im.st == nil {
		return err
	}
	if err := im.st.RestoreIssue(ctx, is); err != nil {
		return fmt.Errorf("transfer: import: line %d: %w", im.line, err)
	}
	im.written[KindIssue]++
	im.progress()
	return nil
}

func (im *importer) adminPassword(ctx context.Context, line []byte) error {
	var r adminPasswordRec
	err := decode(line, &r)
	if err == nil {
		err = r.check()
	}
	if err != nil {
		return im.bad("an admin password record: %v", err)
	}
	im.read[KindAdminPassword]++
	if err := im.flush(ctx); err != nil || im.st == nil {
		return err
	}
	ap, ok := im.st.(adminPasswords)
	if !ok {
		return fmt.Errorf("transfer: import: line %d: this store cannot keep the admin password", im.line)
	}
	if err := ap.SetAdminPassword(ctx, r.Hash); err != nil {
		return fmt.Errorf("transfer: import: line %d: %w", im.line, err)
	}
	im.written[KindAdminPassword]++
	return nil
}

// end checks the counts against what was read, writes the last batch and
// raises the ID counters.
func (im *importer) end(ctx context.Context, line []byte) error {
	var r endRec
	if err := decode(line, &r); err != nil {
		return im.bad("the end record: %v", err)
	}
	for _, k := range countedKinds {
		if r.Counts[k] != im.read[k] {
			return im.bad("the end record counts %d %s but the file holds %d: it is damaged",
				r.Counts[k], plural(k, r.Counts[k]), im.read[k])
		}
	}
	im.ended = true
	if err := im.flush(ctx); err != nil || im.st == nil {
		return err
	}
	if len(im.counters) > 0 {
		if err := im.st.RaiseIDCounters(ctx, im.counters); err != nil {
			return fmt.Errorf("transfer: import: %w", err)
		}
	}
	return nil
}
