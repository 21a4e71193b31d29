package comments

import (
	"encoding/hex"
	"fmt"
	"html/template"
	"math"
	"strings"
)

// avatarGrid is the identicon's size in cells; the left columns are
// mirrored to the right, so avatarGrid*(avatarGrid+1)/2 bits draw it.
const avatarGrid = 5

// Avatar is a commenter's identicon, drawn here, as inline SVG: a 5×5 grid,
// mirrored left to right, in one colour, 40 by 40 pixels, with no script and
// no reference to anything outside itself. It is drawn from a keyed hash of
// the address's blind index (secrets.Keys.BlindIndex of "avatar", a 0 byte
// and the index), so one commenter always has one picture, while the page
// shows nothing computed from the address without the site's secret key (no
// Gravatar, no MD5 or SHA of the address). A comment without an index gets
// a plain grey square.
func (s *Service) Avatar(c Comment) template.HTML {
	var cells []bool
	colour := "#9e9e9e"
	if c.EmailIndex != "" {
		sum, _ := hex.DecodeString(s.o.Keys.BlindIndex("avatar\x00" + c.EmailIndex))
		cells, colour = identicon(sum)
	}
	return template.HTML(avatarSVG(cells, colour)) // #nosec: built from numbers only
}

// identicon turns 32 hash bytes into the cells to fill (row by row, the
// whole grid) and a colour: the hue from the first two bytes, at fixed
// saturation and lightness so every avatar is readable on a light page.
func identicon(sum []byte) ([]bool, string) {
	hue := float64(uint16(sum[0])<<8|uint16(sum[1])) / 65536 * 360
	half := (avatarGrid + 1) / 2
	cells := make([]bool, avatarGrid*avatarGrid)
	bit := 0
	for row := range avatarGrid {
		for col := range half {
			on := sum[2+bit/8]>>(bit%8)&1 == 1
			bit++
			cells[row*avatarGrid+col] = on
			cells[row*avatarGrid+avatarGrid-1-col] = on
		}
	}
	return cells, hslHex(hue, 0.55, 0.45)
}

// avatarSVG draws the filled cells in colour on a light background.
func avatarSVG(cells []bool, colour string) string {
	var d strings.Builder
	for i, on := range cells {
		if on {
			fmt.Fprintf(&d, "M%d %dh1v1h-1z", i%avatarGrid, i/avatarGrid)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="avatar" width="40" height="40" viewBox="0 0 %d %d" role="img" aria-label="Avatar" shape-rendering="crispEdges">`, avatarGrid, avatarGrid)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#f0f0f0"/>`, avatarGrid, avatarGrid)
	if d.Len() > 0 {
		fmt.Fprintf(&b, `<path fill="%s" d="%s"/>`, colour, d.String())
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// hslHex converts a colour given as hue (degrees), saturation and lightness
// (0 to 1) to #rrggbb.
func hslHex(h, s, l float64) string {
	c := (1 - math.Abs(2*l-1)) * s
	hp := math.Mod(h, 360) / 60
	x := c * (1 - math.Abs(math.Mod(hp, 2)-1))
	var r, g, b float64
	switch {
	case hp < 1:
		r, g = c, x
	case hp < 2:
		r, g = x, c
	case hp < 3:
		g, b = c, x
	case hp < 4:
		g, b = x, c
	case hp < 5:
		r, b = x, c
	default:
		r, b = c, x
	}
	m := l - c/2
	to := func(v float64) int { return int(math.Round((v + m) * 255)) }
	return fmt.Sprintf("#%02x%02x%02x", to(r), to(g), to(b))
}
