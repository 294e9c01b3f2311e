package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/mercato/mercato/internal/platform/web"
)

// The demo products' pictures. Until the media service exists, the catalog
// draws them: a square in the colour of the product's category, with a
// pattern of its own and its initials, the same bytes on every start (the
// standard library's encoders are deterministic). They are drawn on first
// request and kept; there are as many as demo products, about 3 KB each.
//
// A picture has three colours, so it is a PNG with a palette: a JPEG of the
// stripes' sharp edges weighed 20–30 KB, and the home page's eight came to
// 190 KB. Catalogs seeded before still name <slug>.jpg: that name answers
// the same picture as a JPEG.

// demoImagePrefix is where the demo images are served; the seed writes
// demoImagePrefix + slug + ".png" into each demo product.
const demoImagePrefix = "/media/demo/"

// demoImageSize is the side of a demo image, in pixels.
const demoImageSize = 480

func demoImageURL(slug string) string { return demoImagePrefix + slug + ".png" }

// demoMedia draws and keeps the demo images. It is safe for concurrent use.
type demoMedia struct {
	mu     sync.Mutex
	bySlug map[string]demoProduct
	drawn  map[string]demoImage // by name: "<slug>.png" or "<slug>.jpg"
}

type demoImage struct {
	data        []byte
	contentType string
	etag        string
}

func newDemoMedia() *demoMedia {
	m := &demoMedia{bySlug: map[string]demoProduct{}, drawn: map[string]demoImage{}}
	for _, d := range demoProducts() {
		m.bySlug[Slugify(d.title, "product")] = d
	}
	return m
}

// image returns the picture named name: "<slug>.png", or "<slug>.jpg" as
// earlier seeds named it; ok is false when no demo product has that name.
func (m *demoMedia) image(name string) (img demoImage, ok bool, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if img, ok := m.drawn[name]; ok {
		return img, true, nil
	}
	slug, ext, _ := strings.Cut(name, ".")
	d, ok := m.bySlug[slug]
	if !ok || (ext != "png" && ext != "jpg") {
		return demoImage{}, false, nil
	}
	var buf bytes.Buffer
	pic := drawDemo(d, slug)
	if ext == "png" {
		img.contentType = "image/png"
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, pic)
	} else {
		img.contentType = "image/jpeg"
		err = jpeg.Encode(&buf, pic, &jpeg.Options{Quality: 85})
	}
	if err != nil {
		return demoImage{}, false, fmt.Errorf("encode demo image %s: %w", name, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	img.data, img.etag = buf.Bytes(), `"`+hex.EncodeToString(sum[:8])+`"`
	m.drawn[name] = img
	return img, true, nil
}

// serveDemoImage answers GET /media/demo/{name}: the image with a day of
// caching and an ETag, or 404 for a name no demo product has.
func (s *Service) serveDemoImage(w http.ResponseWriter, r *http.Request) {
	img, ok, err := s.media.image(r.PathValue("name"))
	switch {
	case err != nil:
		s.log.ErrorContext(r.Context(), "demo image", "err", err)
		web.WriteProblem(w, http.StatusInternalServerError, "internal", "internal error; see the server log with this request's ID")
		return
	case !ok:
		web.WriteProblem(w, http.StatusNotFound, "not_found", "no such demo image")
		return
	}
	w.Header().Set("Content-Type", img.contentType)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("ETag", img.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(img.data))
}

// demoPalette is the background colour of each demo category's pictures.
func demoPalette(category string) color.RGBA {
	switch category {
	case "espresso":
		return color.RGBA{92, 58, 38, 255}
	case "filter-coffee":
		return color.RGBA{150, 98, 58, 255}
	case "tea":
		return color.RGBA{86, 124, 72, 255}
	case "grinders":
		return color.RGBA{70, 74, 82, 255}
	case "brewing-gear":
		return color.RGBA{62, 96, 128, 255}
	case "cups-mugs":
		return color.RGBA{176, 92, 64, 255}
	default:
		return color.RGBA{48, 122, 120, 255}
	}
}

// drawDemo draws the picture of d: its category's colour, diagonal stripes
// whose spacing and direction come from the slug, a pale disc, and the
// product's initials on it. Its palette is those three colours.
func drawDemo(d demoProduct, slug string) *image.Paletted {
	const n = demoImageSize
	h := fnv.New32a()
	h.Write([]byte(slug))
	seed := h.Sum32()
	bg := demoPalette(d.category)
	stripe := mix(bg, color.RGBA{255, 255, 255, 255}, 0.12)
	disc := mix(bg, color.RGBA{255, 255, 255, 255}, 0.82)
	period := 24 + int(seed%5)*8
	dir := 1
	if seed&0x100 != 0 {
		dir = -1
	}
	const bgIdx, stripeIdx, discIdx = 0, 1, 2
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{bg, stripe, disc})
	c, r := n/2, n*3/8
	for y := range n {
		for x := range n {
			px := uint8(bgIdx)
			if ((x+dir*y)%period+period)%period < period/3 {
				px = stripeIdx
			}
			if dx, dy := x-c, y-c; dx*dx+dy*dy <= r*r {
				px = discIdx
			}
			img.SetColorIndex(x, y, px)
		}
	}
	// The initials, 5×7 glyphs scaled up, centred on the disc.
	font := glyphs()
	text := initials(d.title, font)
	const scale, gap = 14, 2 // pixels per glyph dot; dots between glyphs
	width := (len(text)*(5+gap) - gap) * scale
	x0, y0 := c-width/2, c-7*scale/2
	for i, ch := range text {
		g := font[ch]
		for row, line := range g {
			for col, dot := range line {
				if dot != '#' {
					continue
				}
				for y := range scale {
					for x := range scale {
						img.SetColorIndex(x0+(i*(5+gap)+col)*scale+x, y0+row*scale+y, bgIdx)
					}
				}
			}
		}
	}
	return img
}

func mix(a, b color.RGBA, f float64) color.RGBA {
	m := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f + 0.5) }
	return color.RGBA{m(a.R, b.R), m(a.G, b.G), m(a.B, b.B), 255}
}

// initials returns the first letter or digit of the title's first two
// words, upper-cased and without accents, among the glyphs drawDemo has.
func initials(title string, font map[rune][7]string) []rune {
	var out []rune
	words := strings.FieldsFunc(norm.NFKD.String(title), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r)
	})
	for _, w := range words {
		r := unicode.ToUpper([]rune(w)[0])
		if _, ok := font[r]; ok {
			out = append(out, r)
		}
		if len(out) == 2 {
			break
		}
	}
	return out
}

// glyphs is a 5×7 pixel font of capitals and digits: '#' is a dot.
func glyphs() map[rune][7]string {
	return map[rune][7]string{
		'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
		'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
		'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
		'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
		'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
		'F': {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
		'G': {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
		'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
		'I': {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
		'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
		'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
		'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
		'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
		'N': {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
		'O': {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
		'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
		'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
		'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
		'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
		'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
		'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
		'V': {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
		'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
		'X': {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
		'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
		'Z': {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
		'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
		'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
		'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
		'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
		'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
		'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
		'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
		'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
		'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
		'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	}
}
