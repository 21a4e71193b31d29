package feeds

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxSlugLen bounds a slug, in bytes (all ASCII).
const MaxSlugLen = 80

// Slug turns a title into the readable part of a story URL: ASCII letters
// and digits in lower case, words joined by "-", accents dropped ("Café" →
// "cafe"), at most MaxSlugLen bytes, cut at a word boundary when one is near.
func Slug(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(title) {
		if b.Len() > MaxSlugLen {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(unicode.ToLower(r))
			dash = false
		case unicode.Is(unicode.Mn, r), r == '\'', r == '’':
			// Accents and apostrophes vanish: "don't" → "dont".
		default:
			if b.Len() > 0 && !dash {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := b.String()
	if len(s) > MaxSlugLen {
		s = s[:MaxSlugLen]
		if i := strings.LastIndexByte(s, '-'); i >= MaxSlugLen/2 {
			s = s[:i]
		}
	}
	return strings.Trim(s, "-")
}

// StoryPath is the canonical path of a story's page on the site,
// "/stories/ID/slug" ("/stories/ID" when the title makes no slug). The site
// redirects any other slug there; mails link to it directly.
func StoryPath(id int64, title string) string {
	p := "/stories/" + strconv.FormatInt(id, 10)
	if slug := Slug(title); slug != "" {
		p += "/" + slug
	}
	return p
}
