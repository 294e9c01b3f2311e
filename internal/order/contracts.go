package order

import (
	"context"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
)

// Short names for the inventory contract's types used throughout.
type (
	invLine            = inventoryapi.Line
	invOutOfStockError = inventoryapi.OutOfStockError
	reserveRequest     = inventoryapi.ReserveRequest
	restockRequest     = inventoryapi.RestockRequest
	reservation        = inventoryapi.Reservation
)

var (
	errInvNotFound          = inventoryapi.ErrNotFound
	errInvReservationClosed = inventoryapi.ErrReservationClosed
)

// Inventory is what the checkout saga needs of the inventory service
// (inventoryapi.Client). Every call is idempotent on the order ID (Restock
// on the reference).
type Inventory interface {
	Reserve(ctx context.Context, r reserveRequest) (reservation, error)
	Commit(ctx context.Context, orderID string) (reservation, error)
	Release(ctx context.Context, orderID, reason string) (reservation, error)
	Restock(ctx context.Context, r restockRequest) error
}

// Pricing is what the order service needs of the pricing service
// (pricingapi.Client).
type Pricing interface {
	Quote(ctx context.Context, r pricingapi.QuoteRequest) (pricingapi.Quote, error)
	Redeem(ctx context.Context, r pricingapi.RedeemRequest) (pricingapi.Redemption, error)
	ReleaseRedemption(ctx context.Context, orderID string) error
}

// Payments is what the order service needs of the payment service
// (paymentapi.Client). Every call is idempotent on the order ID (Capture and
// Refund on their keys).
type Payments interface {
	Authorize(ctx context.Context, r paymentapi.AuthorizeRequest) (paymentapi.Payment, error)
	Capture(ctx context.Context, orderID string, r paymentapi.CaptureRequest) (paymentapi.Payment, error)
	Void(ctx context.Context, orderID string) (paymentapi.Payment, error)
	Refund(ctx context.Context, orderID string, r paymentapi.RefundRequest) (paymentapi.Payment, error)
	// Get returns the order's payment, or ErrNotFound.
	Get(ctx context.Context, orderID string) (paymentapi.Payment, error)
	// Providers lists the payment providers on offer.
	Providers(ctx context.Context) (paymentapi.Providers, error)
}

// Carts is what checkout needs of the cart service (cartapi.Client).
type Carts interface {
	// Lines returns a cart without its totals (the checkout quotes it).
	Lines(ctx context.Context, id string) (cartapi.Cart, error)
}
