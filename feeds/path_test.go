package feeds_test

import (
	"strings"
	"testing"

	"github.com/tidings/tidings/feeds"
)

func TestSlugAndStoryPath(t *testing.T) {
	for title, want := range map[string]string{
		"WhatsApp Boss Clashes with Elon Musk Over Data Privacy Claims": "whatsapp-boss-clashes-with-elon-musk-over-data-privacy-claims",
		"Café Crème: l’été, don't panic!":                               "cafe-creme-lete-dont-panic",
		"  --EU's  AI Act -- passes (finally)  ":                        "eus-ai-act-passes-finally",
		"日本語のタイトル":                                                      "",
		"":                                                              "",
		"Ｆｕｌｌｗｉｄｔｈ ５Ｇ":                                                  "fullwidth-5g",
		`</script><script>alert(1)</script>`:                            "script-script-alert-1-script",
	} {
		if got := feeds.Slug(title); got != want {
			t.Errorf("Slug(%q) = %q, want %q", title, got, want)
		}
		wantPath := "/stories/7"
		if want != "" {
			wantPath += "/" + want
		}
		if got := feeds.StoryPath(7, title); got != wantPath {
			t.Errorf("StoryPath(7, %q) = %q, want %q", title, got, wantPath)
		}
	}
	long := feeds.Slug(strings.Repeat("Encryption backdoor debate ", 10))
	if len(long) > feeds.MaxSlugLen || strings.HasSuffix(long, "-") || !strings.HasSuffix(long, "debate") && !strings.HasSuffix(long, "backdoor") && !strings.HasSuffix(long, "encryption") {
		t.Errorf("long slug %q (%d bytes) is not cut at a word", long, len(long))
	}
	if got := feeds.Slug(strings.Repeat("x", 200)); len(got) != feeds.MaxSlugLen {
		t.Errorf("one long word: %d bytes", len(got))
	}
}

func FuzzSlug(f *testing.F) {
	f.Add("WhatsApp Boss Clashes with Elon Musk")
	f.Add("Ｆｕｌｌｗｉｄｔｈ ﬁ ½ \u0301é")
	f.Fuzz(func(t *testing.T, title string) {
		s := feeds.Slug(title)
		if len(s) > feeds.MaxSlugLen || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") || strings.Contains(s, "--") {
			t.Fatalf("Slug(%q) = %q", title, s)
		}
		if strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			t.Fatalf("Slug(%q) = %q has other characters", title, s)
		}
	})
}
