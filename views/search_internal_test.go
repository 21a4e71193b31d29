package views

import "testing"

func TestHighlight(t *testing.T) {
	for _, tc := range []struct {
		text  string
		terms []string
		want  string
	}{
		{"Data breaches at <Acme>", []string{"breach"}, "Data <mark>breaches</mark> at &lt;Acme&gt;"},
		{"End-to-end encryption", []string{"encrypt"}, "End-to-end <mark>encryption</mark>"},
		{"WhatsApp's metadata", []string{"whatsapp", "meta"}, "<mark>WhatsApp&#39;s</mark> <mark>metadata</mark>"},
		{"nothing here", nil, "nothing here"},
		{"Musk & co", []string{"musk"}, "<mark>Musk</mark> &amp; co"},
	} {
		if got := string(highlight(tc.text, tc.terms)); got != tc.want {
			t.Errorf("highlight(%q, %q) = %q, want %q", tc.text, tc.terms, got, tc.want)
		}
	}
}
