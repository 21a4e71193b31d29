package feeds

import (
	"fmt"
	"testing"
	"time"
)

func TestOfferSimilar(t *testing.T) {
	full := []Related{{1, 0.9}, {2, 0.8}, {3, 0.7}, {4, 0.6}, {5, 0.5}}
	for _, tc := range []struct {
		name    string
		list    []Related
		offer   Related
		want    string
		changed bool
	}{
		{"empty", nil, Related{9, 0.1}, "[{9 0.1}]", true},
		{"room, sorted in", []Related{{1, 0.9}, {2, 0.3}}, Related{9, 0.5}, "[{1 0.9} {9 0.5} {2 0.3}]", true},
		{"already there", []Related{{9, 0.2}}, Related{9, 0.8}, "[{9 0.2}]", false},
		{"full, beats weakest", full, Related{9, 0.65}, "[{1 0.9} {2 0.8} {3 0.7} {9 0.65} {4 0.6}]", true},
		{"full, too weak", full, Related{9, 0.5}, "[{1 0.9} {2 0.8} {3 0.7} {4 0.6} {5 0.5}]", false},
	} {
		got, changed := offerSimilar(tc.list, tc.offer, 5)
		if fmt.Sprint(got) != tc.want || changed != tc.changed {
			t.Errorf("%s: %v, %v; want %s, %v", tc.name, got, changed, tc.want, tc.changed)
		}
	}
	if fmt.Sprint(full) != "[{1 0.9} {2 0.8} {3 0.7} {4 0.6} {5 0.5}]" {
		t.Errorf("offerSimilar changed its input: %v", full)
	}
}

func TestBackoff(t *testing.T) {
	p := &Poller{opts: PollerOptions{Interval: 30 * time.Minute, MaxBackoff: 24 * time.Hour}}
	want := []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 16 * time.Hour, 24 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		if got := p.backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if got := p.backoff(1000); got != 24*time.Hour {
		t.Errorf("backoff(1000) = %v", got)
	}
}

func TestInterleaveByHost(t *testing.T) {
	var in []Source
	for i, u := range []string{"https://a.example/1", "https://a.example/2", "https://a.example/3",
		"https://B.example/1", "http://b.example:8080/2", "https://c.example/1"} {
		in = append(in, Source{ID: int64(i + 1), URL: u})
	}
	var ids []int64
	for _, s := range interleaveByHost(in) {
		ids = append(ids, s.ID)
	}
	if fmt.Sprint(ids) != "[1 4 6 2 5 3]" {
		t.Errorf("order %v", ids)
	}
}
