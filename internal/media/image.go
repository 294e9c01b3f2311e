package media

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"

	"github.com/disintegration/imaging"

	"github.com/mercato/mercato/internal/media/mediaapi"
	"github.com/mercato/mercato/internal/platform/kit"
)

// jpegQuality is the quality JPEG images and their variants are stored at.
const jpegQuality = 85

// cleaned is an uploaded image made safe to serve: decoded, re-encoded
// (which leaves every metadata block behind: EXIF, GPS, comments, text
// chunks), with its resized variants, named by the SHA-256 of its bytes.
type cleaned struct {
	data          []byte
	contentType   string
	width, height int
	hash          string
	variants      []variantFile
}

// variantFile is one resized copy of a cleaned image.
type variantFile struct {
	size, width, height int
	contentType         string
	data                []byte
}

// clean checks data is a PNG, JPEG or GIF image (by its bytes) of at most
// maxPixels pixels (by its header, before any pixel is decoded), decodes
// it, turns it upright by its EXIF orientation, and re-encodes it with its
// variants: JPEG stays JPEG, PNG and GIF (the first frame) become PNG.
func clean(data []byte, maxPixels int64) (cleaned, error) {
	detected := http.DetectContentType(data)
	var format string
	switch detected {
	case "image/png":
		format = "png"
	case "image/jpeg":
		format = "jpeg"
	case "image/gif":
		format = "gif"
	default:
		return cleaned{}, fileError(ErrUnsupportedType, "must be a PNG, JPEG or GIF image; the bytes are "+detected, detected)
	}
	cfg, got, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil || got != format || cfg.Width <= 0 || cfg.Height <= 0 {
		return cleaned{}, fileError(ErrCorruptImage, "the "+format+" header does not decode", nil)
	}
	dims := fmt.Sprintf("%d × %d", cfg.Width, cfg.Height)
	if cfg.Width > maxSide || cfg.Height > maxSide || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return cleaned{}, fileError(ErrTooManyPixels,
			fmt.Sprintf("is %s pixels: at most %d pixels and %d on a side", dims, maxPixels, maxSide), dims)
	}
	img, err := imaging.Decode(bytes.NewReader(data), imaging.AutoOrientation(true))
	if err != nil {
		return cleaned{}, fileError(ErrCorruptImage, "the "+format+" image does not decode (truncated or damaged)", nil)
	}
	c := cleaned{contentType: "image/png"}
	if format == "jpeg" {
		c.contentType = "image/jpeg"
	}
	if c.data, err = encode(img, c.contentType); err != nil {
		return cleaned{}, err
	}
	b := img.Bounds()
	c.width, c.height = b.Dx(), b.Dy()
	sum := sha256.Sum256(c.data)
	c.hash = hex.EncodeToString(sum[:])
	// Largest first, each made from the one before: cheaper than each
	// from the original, and as sharp at these ratios.
	sizes := mediaapi.Sizes()
	src := img
	c.variants = make([]variantFile, len(sizes))
	for i := len(sizes) - 1; i >= 0; i-- {
		n := sizes[i]
		src = imaging.Fit(src, n, n, imaging.Lanczos)
		vb := src.Bounds()
		v := variantFile{size: n, width: vb.Dx(), height: vb.Dy(), contentType: c.contentType}
		if v.data, err = encode(src, v.contentType); err != nil {
			return cleaned{}, err
		}
		// A PNG without transparency (a photo saved as PNG, a
		// screenshot) is often several times smaller as a JPEG at the
		// sizes pages draw: the smaller of the two is kept, so pages stay
		// light; a drawing that PNG keeps smaller stays PNG.
		if o, ok := src.(interface{ Opaque() bool }); ok && v.contentType == "image/png" && o.Opaque() {
			j, err := encode(src, "image/jpeg")
			if err != nil {
				return cleaned{}, err
			}
			if len(j) < len(v.data) {
				v.data, v.contentType = j, "image/jpeg"
			}
		}
		c.variants[i] = v
	}
	return c, nil
}

// encode writes img as contentType (image/png or image/jpeg).
func encode(img image.Image, contentType string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	if contentType == "image/jpeg" {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: jpegQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", contentType, err)
	}
	return b.Bytes(), nil
}

// fileError is an upload refused for its file.
func fileError(err error, msg string, value any) error {
	return &kit.ValidationError{Err: err, Fields: []kit.FieldError{{Field: "body.file", Message: msg, Value: value}}}
}
