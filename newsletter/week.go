package newsletter

import (
	"fmt"
	"strconv"
	"time"
)

// WeekOf names the ISO 8601 week holding t (taken in UTC), e.g. "2026-W48":
// the name of an issue composed at t.
func WeekOf(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%04d-W%02d", y, w)
}

// ParseWeek checks that s names an ISO week, "YYYY-Www" (the W in either
// case), whose number exists in that ISO year (1 to 52, or 53 in long years),
// and returns it in canonical form.
func ParseWeek(s string) (string, error) {
	const form = "newsletter: week %q: want an ISO week such as 2026-W48"
	if len(s) != 8 || s[4] != '-' || (s[5] != 'W' && s[5] != 'w') ||
		!allDigits(s[:4]) || !allDigits(s[6:]) {
		return "", fmt.Errorf(form, shortText(s))
	}
	year, _ := strconv.Atoi(s[:4]) // four digits: cannot fail
	week, _ := strconv.Atoi(s[6:])
	if year < 1 {
		return "", fmt.Errorf("newsletter: week %q: the year must be 0001 or later", s)
	}
	if week < 1 || week > weeksIn(year) {
		return "", fmt.Errorf("newsletter: week %q: ISO year %04d has weeks 01 to %02d", s, year, weeksIn(year))
	}
	return fmt.Sprintf("%04d-W%02d", year, week), nil
}

// weeksIn returns how many ISO weeks the ISO year has: 28 December always lies
// in its last week.
func weeksIn(year int) int {
	_, w := time.Date(year, time.December, 28, 12, 0, 0, 0, time.UTC).ISOWeek()
	return w
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// shortText cuts a string quoted in an error message to a readable length.
func shortText(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
