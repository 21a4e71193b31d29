package newsletter_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/newsletter"
)

func TestWeekOf(t *testing.T) {
	kiritimati := time.FixedZone("LINT", 14*3600)
	for _, c := range []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC), "2026-W48"},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "2026-W01"},  // a Thursday: week 1
		{time.Date(2027, 1, 3, 23, 0, 0, 0, time.UTC), "2026-W53"}, // 2026 is a long ISO year
		{time.Date(2024, 12, 30, 0, 0, 0, 0, time.UTC), "2025-W01"},
		{time.Date(2021, 1, 3, 0, 0, 0, 0, time.UTC), "2020-W53"},
		// Monday 05:00 at UTC+14 is still Sunday in UTC: the week is UTC's.
		{time.Date(2026, 11, 30, 5, 0, 0, 0, kiritimati), "2026-W48"},
	} {
		if got := newsletter.WeekOf(c.at); got != c.want {
			t.Errorf("WeekOf(%v) = %q, want %q", c.at, got, c.want)
		}
	}
}

func TestParseWeek(t *testing.T) {
	for in, want := range map[string]string{
		"2026-W48": "2026-W48",
		"2026-w01": "2026-W01",
		"2026-W53": "2026-W53",
		"2020-W53": "2020-W53",
		"2025-W52": "2025-W52",
		"0001-W01": "0001-W01",
		"9999-W52": "9999-W52",
	} {
		got, err := newsletter.ParseWeek(in)
		if err != nil || got != want {
			t.Errorf("ParseWeek(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for in, why := range map[string]string{
		"2025-W53":    "weeks 01 to 52",
		"2027-W53":    "weeks 01 to 52",
		"2026-W00":    "weeks 01 to 53",
		"2026-W54":    "weeks 01 to 53",
		"2026-W99":    "weeks 01 to 53",
		"0000-W01":    "0001 or later",
		"":            "such as 2026-W48",
		"26-W48":      "such as 2026-W48",
		"2026W48":     "such as 2026-W48",
		"2026-48":     "such as 2026-W48",
		"2026-W4":     "such as 2026-W48",
		"2026-W480":   "such as 2026-W48",
		" 2026-W48":   "such as 2026-W48",
		"2026-X48":    "such as 2026-W48",
		"-026-W48":    "such as 2026-W48",
		"2026-W+8":    "such as 2026-W48",
		"２０２６-W48":    "such as 2026-W48",
		"2026-11-25":  "such as 2026-W48",
		"2026-W48\n":  "such as 2026-W48",
		"2026-W48; x": "such as 2026-W48",
	} {
		got, err := newsletter.ParseWeek(in)
		if err == nil {
			t.Errorf("ParseWeek(%q) = %q, want an error", in, got)
			continue
		}
		if !strings.HasPrefix(err.Error(), "newsletter: ") || !strings.Contains(err.Error(), why) {
			t.Errorf("ParseWeek(%q) error %q, want it to say %q", in, err, why)
		}
	}
}

// Every day of several years names a week that ParseWeek accepts unchanged,
// and every week of those years is reached.
func TestWeekRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for d := time.Date(2019, 12, 1, 12, 0, 0, 0, time.UTC); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		w := newsletter.WeekOf(d)
		got, err := newsletter.ParseWeek(w)
		if err != nil || got != w {
			t.Fatalf("ParseWeek(WeekOf(%v) = %q) = %q, %v", d, w, got, err)
		}
		seen[w] = true
	}
	for _, w := range []string{"2020-W53", "2026-W53", "2021-W52", "2027-W52"} {
		if !seen[w] {
			t.Errorf("no day fell in %s", w)
		}
	}
	for _, w := range []string{"2021-W53", "2027-W53"} {
		if seen[w] {
			t.Errorf("a day fell in %s, which does not exist", w)
		}
	}
}

func FuzzParseWeek(f *testing.F) {
	for _, s := range []string{"2026-W48", "2026-w53", "2025-W53", "0000-W00", "", "ｗ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := newsletter.ParseWeek(s)
		if err != nil {
			return
		}
		again, err := newsletter.ParseWeek(got)
		if err != nil || again != got || len(got) != 8 || got[5] != 'W' {
			t.Fatalf("ParseWeek(%q) = %q, not canonical (%q, %v)", s, got, again, err)
		}
	})
}
