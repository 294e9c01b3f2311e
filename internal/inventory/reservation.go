package inventory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/platform/text"
)

// line is one SKU of a request after merging: the total quantity and the
// index of its first line in the request (for error locations).
type line struct {
	index int
	sku   string
	qty   int64
}

// validSKU checks a SKU by the platform's one rule (text.SKU), the rule
// the catalog applies too: "" or what is wrong.
func validSKU(sku string) string {
	if err := text.SKU(sku); err != nil {
		return err.Error()
	}
	return ""
}

var locationCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// location normalises a location code: empty means the default location.
func location(code, field string) (string, error) {
	if code == "" {
		return inventoryapi.DefaultLocation, nil
	}
	if !locationCode.MatchString(code) {
		return "", invalid(FieldError{Field: field, Message: "must be lowercase letters, digits, - and _, at most 64", Value: code})
	}
	return code, nil
}

// mergeLines validates the lines of a reservation or restock and merges
// lines of the same SKU. The result is sorted by SKU: reservations take
// their row locks in that order, so two reservations of the same SKUs queue
// on PostgreSQL instead of deadlocking.
func mergeLines(lines []inventoryapi.Line) ([]line, error) {
	if len(lines) == 0 {
		return nil, invalid(FieldError{Field: "lines", Message: "must have at least one line"})
	}
	var errs []FieldError
	at := map[string]int{}
	var out []line
	for i, l := range lines {
		if msg := validSKU(l.SKU); msg != "" {
			errs = append(errs, FieldError{Field: fmt.Sprintf("lines[%d].sku", i), Message: msg, Value: l.SKU})
			continue
		}
		if l.Quantity < 1 || l.Quantity > inventoryapi.MaxLineQuantity {
			errs = append(errs, FieldError{Field: fmt.Sprintf("lines[%d].quantity", i), Message: fmt.Sprintf("must be 1 to %d", inventoryapi.MaxLineQuantity), Value: l.Quantity})
			continue
		}
		j, ok := at[l.SKU]
		if !ok {
			at[l.SKU] = len(out)
			out = append(out, line{index: i, sku: l.SKU, qty: l.Quantity})
			continue
		}
		out[j].qty += l.Quantity
		if out[j].qty > inventoryapi.MaxLineQuantity {
			errs = append(errs, FieldError{Field: fmt.Sprintf("lines[%d].quantity", i), Message: fmt.Sprintf("lines of %s add up to more than %d", l.SKU, inventoryapi.MaxLineQuantity), Value: l.Quantity})
		}
	}
	if len(errs) > 0 {
		return nil, invalid(errs...)
	}
	slices.SortFunc(out, func(a, b line) int { return strings.Compare(a.sku, b.sku) })
	return out, nil
}

// ttl is the hold time a reservation request asks for: the default for 0,
// else 1 s to MaxReservationTTL.
func (c Config) ttl(seconds int64) (time.Duration, error) {
	if seconds == 0 {
		return c.ReservationTTL, nil
	}
	if seconds < 1 || seconds > int64(c.MaxReservationTTL/time.Second) {
		return 0, invalid(FieldError{Field: "ttl_seconds", Message: fmt.Sprintf("must be 1 to %d", int64(c.MaxReservationTTL/time.Second)), Value: seconds})
	}
	return time.Duration(seconds) * time.Second, nil
}

// validOrderID checks an order ID: 1 to 100 bytes without controls or
// slashes (it is a path segment of the API).
func validOrderID(id string) error {
	if id == "" || len(id) > 100 || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsControl(r) || r == '/' }) {
		return invalid(FieldError{Field: "order_id", Message: "must be 1 to 100 bytes without control characters or slashes", Value: id})
	}
	return nil
}

// closing describes one way out of the held state.
type closing struct {
	status string // the final status
	kind   string // the ledger kind of its movements
	// commit takes the units off the shelf; the others only unreserve them.
	commit bool
}

var (
	closeCommit  = closing{status: inventoryapi.StatusCommitted, kind: inventoryapi.KindCommit, commit: true}
	closeRelease = closing{status: inventoryapi.StatusReleased, kind: inventoryapi.KindRelease}
	closeExpire  = closing{status: inventoryapi.StatusExpired, kind: inventoryapi.KindExpire}
)

// settled decides a close of a reservation that is no longer held: nil when
// the reservation is already where the caller wants it (a repeat), or
// ErrReservationClosed. Releasing an expired reservation is a repeat too:
// its stock is free either way.
func (c closing) settled(status string) error {
	switch c.status {
	case inventoryapi.StatusCommitted:
		if status == inventoryapi.StatusCommitted {
			return nil
		}
	case inventoryapi.StatusReleased, inventoryapi.StatusExpired:
		if status == inventoryapi.StatusReleased || status == inventoryapi.StatusExpired {
			return nil
		}
	}
	return &ClosedError{Status: status}
}

// ClosedError says a reservation is no longer held, and how it ended. It
// matches ErrReservationClosed.
type ClosedError struct {
	Status string
}

func (e *ClosedError) Error() string {
	return fmt.Sprintf("%s: it is %s", ErrReservationClosed, e.Status)
}

// Is makes errors.Is(err, ErrReservationClosed) true.
func (e *ClosedError) Is(target error) bool { return target == ErrReservationClosed }

// expired reports whether a held reservation is past its expiry at now:
// from then on it can only expire, even before the sweeper gets to it.
func expired(expiresAt, now time.Time) bool { return !now.Before(expiresAt) }

// lowStock reports whether available stock is at or below threshold.
func lowStock(available, threshold int64) bool { return available <= threshold }
