package kit

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/web"
)

// PageCeiling is the largest max-page-size a service takes, unless it
// names its own ceiling to Paging.Validate.
const PageCeiling = 1000

// Paging is how long a service's list pages are: the page length of a
// request without a limit, and the cap on the limit a request may ask for
// (web.PageSize's rule). A service's Config has it as its Paging field,
// with the flags <prefix>page-size and <prefix>max-page-size. The zero
// value takes the service's defaults (WithDefaults).
type Paging struct {
	// PageSize is the page length of a list request that gives no limit.
	PageSize int
	// MaxPageSize caps the limit a list request may ask for.
	MaxPageSize int
}

// RegisterFlags registers p's flags, prefix+"page-size" and
// prefix+"max-page-size", with size and maxSize as their defaults. items names
// what a page holds ("products") and request the requests that list them
// ("a list request", "an admin list request"), for the flags' help.
func (p *Paging) RegisterFlags(fs *pflag.FlagSet, prefix, items, request string, size, maxSize int) {
	fs.IntVar(&p.PageSize, prefix+"page-size", size, items+" per page when "+request+" gives no limit")
	fs.IntVar(&p.MaxPageSize, prefix+"max-page-size", maxSize, "largest page "+request+" may ask for")
}

// WithDefaults returns p with its zero fields filled: PageSize with size,
// MaxPageSize with maxSize, or with PageSize when that is larger.
func (p Paging) WithDefaults(size, maxSize int) Paging {
	if p.PageSize == 0 {
		p.PageSize = size
	}
	if p.MaxPageSize == 0 {
		p.MaxPageSize = max(maxSize, p.PageSize)
	}
	return p
}

// Validate reports paging the service cannot run with: it needs
// 1 <= PageSize <= MaxPageSize <= ceiling (PageCeiling unless the service
// allows larger pages).
func (p Paging) Validate(service string, ceiling int) error {
	if p.PageSize < 1 || p.MaxPageSize < p.PageSize || p.MaxPageSize > ceiling {
		return fmt.Errorf("%s: need 1 <= page-size (%d) <= max-page-size (%d) <= %d", service, p.PageSize, p.MaxPageSize, ceiling)
	}
	return nil
}

// Size returns the page size for a list request's limit: PageSize when
// limit is zero or less, capped at MaxPageSize (web.PageSize).
func (p Paging) Size(limit int) int {
	return web.PageSize(limit, p.PageSize, p.MaxPageSize)
}
