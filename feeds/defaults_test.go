package feeds

import (
	"bytes"
	"reflect"
	"testing"
)

func TestDefaultSources(t *testing.T) {
	srcs := DefaultSources()
	if len(srcs) < 12 {
		t.Fatalf("only %d default sources", len(srcs))
	}
	seen := map[string]bool{}
	onTopic := 0
	for _, s := range srcs {
		if s.Title == "" {
			t.Errorf("%s: no title", s.URL)
		}
		for _, u := range []string{s.URL, s.SiteURL} {
			c, err := CanonicalURL(u, nil)
			if err != nil || c != u {
				t.Errorf("%q is not canonical: %q, %v", u, c, err)
			}
		}
		if seen[s.URL] {
			t.Errorf("%s listed twice", s.URL)
		}
		seen[s.URL] = true
		if s.OnTopic {
			onTopic++
		}
		if s.ID != 0 || s.Paused || !s.CreatedAt.IsZero() {
			t.Errorf("%s: state set: %+v", s.URL, s)
		}
	}
	if onTopic == 0 || onTopic == len(srcs) {
		t.Errorf("%d of %d sources on topic", onTopic, len(srcs))
	}

	srcs[0].Title = "changed"
	if DefaultSources()[0].Title == "changed" {
		t.Error("DefaultSources shares its slice")
	}
}

func TestDefaultSourcesExportImport(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteOPML(&buf, "Tidings", DefaultSources()); err != nil {
		t.Fatal(err)
	}
	urls, err := ParseSourceList(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range DefaultSources() {
		want = append(want, s.URL)
	}
	if !reflect.DeepEqual(urls, want) {
		t.Fatalf("got %q, want %q", urls, want)
	}
}
