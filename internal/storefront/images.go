package storefront

import (
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/media/mediaapi"
)

// responsive returns the picture to draw for an image URL and its srcset:
// an upload of the media service is drawn from its variant of width size,
// with every variant offered to the browser (so a phone loads a small
// file and a wide screen a sharper one); any other URL is drawn as it is,
// with no srcset.
func responsive(u string, size int) (src, srcset string) {
	hash := mediaapi.HashOf(u)
	if hash == "" {
		return u, ""
	}
	var b strings.Builder
	for i, n := range mediaapi.Sizes() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(mediaapi.VariantURL(hash, n) + " " + strconv.Itoa(n) + "w")
	}
	return mediaapi.VariantURL(hash, size), b.String()
}
