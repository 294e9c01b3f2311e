package media

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/media/mediaapi"
)

// testPNG is a w × h PNG with a gradient, so that resizing has work to do.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x), 100, uint8(y), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// chunk is a PNG chunk of type typ with data.
func chunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	_ = binary.Write(&b, binary.BigEndian, crc.Sum32())
	return b.Bytes()
}

// withPNGChunks returns p with chunks inserted after its IHDR.
func withPNGChunks(p []byte, chunks ...[]byte) []byte {
	const afterIHDR = 8 + 8 + 13 + 4
	out := append([]byte{}, p[:afterIHDR]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[afterIHDR:]...)
}

// exifBlock is an EXIF (TIFF) block whose strings are easy to find again:
// a GPS tag's worth of text, as a phone would write.
var exifBlock = append([]byte("MM\x00\x2a\x00\x00\x00\x08"), []byte("GPSLatitude=47.3769N GPSLongitude=8.5417E Model=SecretPhone")...)

// withJPEGExif inserts an APP1 Exif segment after the JPEG's SOI marker.
func withJPEGExif(j []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), exifBlock...)
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, j[:2]...)
	out = append(out, seg...)
	return append(out, j[2:]...)
}

// bombPNG is a valid PNG header claiming w × h pixels, with a few KB of
// compressed zero rows: tiny to send, gigabytes to decode.
func bombPNG(t testing.TB, w, h uint32) []byte {
	t.Helper()
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestCompression)
	_, _ = zw.Write(make([]byte, 4<<20))
	_ = zw.Close()
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	out = append(out, chunk("IDAT", z.Bytes())...)
	return append(out, chunk("IEND", nil)...)
}

// elf is the start of an executable, whatever name it is sent under.
func elf() []byte {
	b := append([]byte("\x7fELF\x02\x01\x01\x00"), make([]byte, 2048)...)
	for i := 16; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return b
}

func TestCleanStripsMetadata(t *testing.T) {
	t.Run("jpeg exif", func(t *testing.T) {
		in := withJPEGExif(testJPEG(t, 300, 200))
		if !bytes.Contains(in, []byte("Exif\x00\x00")) || !bytes.Contains(in, []byte("GPSLatitude")) {
			t.Fatal("the test image carries no EXIF")
		}
		c, err := clean(in, DefaultMaxPixels)
		if err != nil {
			t.Fatal(err)
		}
		checkNoMetadata(t, c)
		if c.contentType != "image/jpeg" || c.width != 300 || c.height != 200 {
			t.Errorf("cleaned = %s %d×%d, want image/jpeg 300×200", c.contentType, c.width, c.height)
		}
	})
	t.Run("png text and exif chunks", func(t *testing.T) {
		in := withPNGChunks(testPNG(t, 120, 90),
			chunk("tEXt", []byte("Comment\x00GPSLatitude=47.3769N")),
			chunk("eXIf", exifBlock))
		if _, _, err := image.DecodeConfig(bytes.NewReader(in)); err != nil {
			t.Fatalf("the test image does not decode: %v", err)
		}
		c, err := clean(in, DefaultMaxPixels)
		if err != nil {
			t.Fatal(err)
		}
		checkNoMetadata(t, c)
		for _, typ := range []string{"tEXt", "eXIf", "zTXt", "iTXt"} {
			if bytes.Contains(c.data, []byte(typ)) {
				t.Errorf("the stored PNG has a %s chunk", typ)
			}
		}
	})
}

func checkNoMetadata(t *testing.T, c cleaned) {
	t.Helper()
	files := [][]byte{c.data}
	for _, v := range c.variants {
		files = append(files, v.data)
	}
	for i, f := range files {
		for _, s := range []string{"Exif", "GPSLatitude", "SecretPhone"} {
			if bytes.Contains(f, []byte(s)) {
				t.Errorf("stored file %d still contains %q", i, s)
			}
		}
	}
}

func TestCleanVariantsAndHash(t *testing.T) {
	c, err := clean(testPNG(t, 1000, 500), DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.data)
	if c.hash != hex.EncodeToString(sum[:]) {
		t.Errorf("hash %s is not the SHA-256 of the stored bytes", c.hash)
	}
	want := map[int][2]int{160: {160, 80}, 320: {320, 160}, 640: {640, 320}}
	if len(c.variants) != len(mediaapi.Sizes()) {
		t.Fatalf("%d variants, want %d", len(c.variants), len(mediaapi.Sizes()))
	}
	for _, v := range c.variants {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(v.data))
		if err != nil || format != "png" {
			t.Fatalf("variant %d: %s %v", v.size, format, err)
		}
		if w := want[v.size]; cfg.Width != w[0] || cfg.Height != w[1] || v.width != w[0] || v.height != w[1] {
			t.Errorf("variant %d is %d×%d (recorded %d×%d), want %v", v.size, cfg.Width, cfg.Height, v.width, v.height, w)
		}
	}
	// Smaller than a variant: never enlarged.
	small, err := clean(testPNG(t, 100, 40), DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range small.variants {
		if v.width != 100 || v.height != 40 {
			t.Errorf("variant %d of a 100×40 image is %d×%d", v.size, v.width, v.height)
		}
	}
	// The same bytes clean to the same file.
	again, err := clean(testPNG(t, 1000, 500), DefaultMaxPixels)
	if err != nil || again.hash != c.hash {
		t.Errorf("cleaning the same image again gave %s (%v), want %s", again.hash, err, c.hash)
	}
}

func TestCleanGIFBecomesPNG(t *testing.T) {
	img := image.NewPaletted(image.Rect(0, 0, 40, 30), []color.Color{color.White, color.Black})
	img.SetColorIndex(3, 3, 1)
	var b bytes.Buffer
	if err := gif.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	c, err := clean(b.Bytes(), DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	if _, format, err := image.DecodeConfig(bytes.NewReader(c.data)); err != nil || format != "png" || c.contentType != "image/png" {
		t.Errorf("a GIF is stored as %s (%s, %v), want PNG", c.contentType, format, err)
	}
}

func TestCleanRefuses(t *testing.T) {
	good := testPNG(t, 64, 64)
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"an executable", elf(), ErrUnsupportedType},
		{"text", []byte("<html><script>alert(1)</script></html>"), ErrUnsupportedType},
		{"a truncated PNG", good[:len(good)/2], ErrCorruptImage},
		{"a PNG with a damaged header", append(append([]byte{}, good[:20]...), make([]byte, 100)...), ErrCorruptImage},
		{"a 50,000 × 50,000 PNG bomb", bombPNG(t, 50_000, 50_000), ErrTooManyPixels},
		{"a strip too long on a side", bombPNG(t, 30_000, 1), ErrTooManyPixels},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := clean(tc.data, DefaultMaxPixels)
			if !errors.Is(err, tc.want) {
				t.Fatalf("clean = %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refusing took %s: the pixels were decoded", d)
			}
		})
	}
	if n := len(bombPNG(t, 50_000, 50_000)); n > 16<<10 {
		t.Errorf("the bomb is %d bytes, want a few KB", n)
	}
}

// TestCleanVariantTypes: an opaque PNG whose variants are smaller as JPEG
// (a photo saved as PNG) gets JPEG variants and keeps its PNG original; a
// PNG with transparency keeps PNG variants.
func TestCleanVariantTypes(t *testing.T) {
	photo := image.NewNRGBA(image.Rect(0, 0, 800, 600))
	seed := uint32(1)
	for y := range 600 {
		for x := range 800 {
			seed = seed*1664525 + 1013904223
			photo.Set(x, y, color.NRGBA{uint8(x/4) + uint8(seed>>28), uint8(y/3) + uint8(seed>>24&15), uint8(seed >> 16 & 31), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, photo); err != nil {
		t.Fatal(err)
	}
	c, err := clean(b.Bytes(), DefaultMaxPixels)
	if err != nil {
		t.Fatal(err)
	}
	if c.contentType != "image/png" {
		t.Errorf("the original is %s, want image/png", c.contentType)
	}
	for _, v := range c.variants {
		_, format, err := image.DecodeConfig(bytes.NewReader(v.data))
		if err != nil || format != "jpeg" || v.contentType != "image/jpeg" {
			t.Errorf("variant %d of a photo-like PNG is %s (%s, %v), want a JPEG", v.size, v.contentType, format, err)
		}
	}

	clear := image.NewNRGBA(image.Rect(0, 0, 400, 400))
	for y := range 400 {
		for x := range 400 {
			seed = seed*1664525 + 1013904223
			clear.Set(x, y, color.NRGBA{uint8(seed >> 24), uint8(seed >> 16), uint8(seed >> 8), uint8(x / 2)})
		}
	}
	b.Reset()
	if err := png.Encode(&b, clear); err != nil {
		t.Fatal(err)
	}
	if c, err = clean(b.Bytes(), DefaultMaxPixels); err != nil {
		t.Fatal(err)
	}
	for _, v := range c.variants {
		if _, format, err := image.DecodeConfig(bytes.NewReader(v.data)); err != nil || format != "png" || v.contentType != "image/png" {
			t.Errorf("variant %d of a transparent PNG is %s (%s, %v), want a PNG", v.size, v.contentType, format, err)
		}
	}
}
