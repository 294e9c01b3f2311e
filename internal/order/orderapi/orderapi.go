// Package orderapi is the order service's contract: the JSON bodies of its
// REST operations (checkout, order reads, the admin lifecycle, returns),
// the payloads of the events it publishes, and a typed client for other
// services and the web UI. Fields are only ever added.
package orderapi

import (
	"time"

	"github.com/mercato/mercato/internal/platform/money"
)

// Status is where an order is in its life. The first four are the checkout
// saga's states; cancelling and shipping are short claims held while a
// compensation or the capture of the first shipment runs.
type Status string

// The order statuses.
const (
	StatusPending           Status = "pending"
	StatusStockReserved     Status = "stock_reserved"
	StatusPaymentAuthorized Status = "payment_authorized"
	StatusConfirmed         Status = "confirmed"
	StatusShipping          Status = "shipping"
	StatusShipped           Status = "shipped"
	StatusDelivered         Status = "delivered"
	StatusCancelling        Status = "cancelling"
	StatusCancelled         Status = "cancelled"
)

// The reasons an order was cancelled (Order.CancelReason).
const (
	ReasonOutOfStock         = "out_of_stock"
	ReasonPaymentDeclined    = "payment_declined"
	ReasonPaymentTimeout     = "payment_timeout"
	ReasonCouponExhausted    = "coupon_exhausted"
	ReasonInterrupted        = "interrupted"
	ReasonReservationExpired = "reservation_expired"
	ReasonCustomer           = "customer"
	ReasonStaff              = "staff"
	// ReasonCaptureDeclined: the payment could not be captured at the first
	// shipment, for good (the provider declined, the authorization is gone);
	// the shipment was not recorded, the stock went back.
	ReasonCaptureDeclined = "capture_declined"
	// ReasonPaymentVoided: the payment provider voided or failed the
	// payment of a confirmed order (a cancellation at the provider, told
	// by its webhook); the order cannot be paid and was cancelled.
	ReasonPaymentVoided = "payment_voided"
)

// Item is one SKU and quantity of a checkout without a cart.
type Item struct {
	SKU      string `json:"sku" minLength:"1" maxLength:"64" doc:"Stock keeping unit: letters, digits, '.', '_' and '-', starting with a letter or digit." example:"MUG-1"`
	Quantity int64  `json:"quantity" minimum:"1" maximum:"10000" doc:"How many, 1 to 10000." example:"2"`
}

// Address is a postal address. Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Name       string `json:"name" minLength:"1" maxLength:"100" example:"Ada Lovelace"`
	Line1      string `json:"line1" minLength:"1" maxLength:"200" example:"12 Analytical Row"`
	Line2      string `json:"line2,omitempty" maxLength:"200"`
	City       string `json:"city" minLength:"1" maxLength:"100" example:"London"`
	Region     string `json:"region,omitempty" maxLength:"100" doc:"State or province, where taxes depend on it."`
	PostalCode string `json:"postal_code" minLength:"1" maxLength:"20" doc:"Letters and digits, with single spaces or dashes between them." example:"N1 9GU"`
	Country    string `json:"country" minLength:"2" maxLength:"2" doc:"ISO 3166-1 alpha-2 country code." example:"GB"`
}

// PaymentInput says how the customer pays.
type PaymentInput struct {
	Provider string `json:"provider" enum:"fake,stripe" doc:"Payment provider." example:"fake"`
	Token    string `json:"token" minLength:"1" maxLength:"255" doc:"The provider's card or payment method token." example:"tok_visa"`
}

// CheckoutRequest is the body of POST /api/v1/checkout: either a cart_id or
// items, never both.
type CheckoutRequest struct {
	CartID          string       `json:"cart_id,omitempty" maxLength:"100" doc:"Check out this cart; its coupon and shipping method apply unless given here."`
	Items           []Item       `json:"items,omitempty" maxItems:"100" doc:"Check out these items (without a cart)."`
	Email           string       `json:"email" minLength:"3" maxLength:"254" doc:"The customer's email address." example:"ada@example.com"`
	ShippingAddress Address      `json:"shipping_address"`
	BillingAddress  *Address     `json:"billing_address,omitempty" doc:"The address invoices bill, when it is not the shipping address."`
	ShippingMethod  string       `json:"shipping_method,omitempty" maxLength:"50" doc:"Shipping method code; the store's default when absent." example:"standard"`
	Coupon          string       `json:"coupon,omitempty" maxLength:"64" doc:"Letters, digits, '_' and '-'." example:"WELCOME10"`
	Currency        string       `json:"currency,omitempty" maxLength:"3" doc:"ISO 4217 currency; the store's when absent." example:"EUR"`
	Payment         PaymentInput `json:"payment"`
}

// Line is one line of an order, priced by the quote at checkout.
type Line struct {
	SKU       string      `json:"sku"`
	ProductID string      `json:"product_id"`
	Title     string      `json:"title"`
	Quantity  int64       `json:"quantity"`
	UnitPrice money.Money `json:"unit_price"`
	Subtotal  money.Money `json:"subtotal"`
	Discount  money.Money `json:"discount"`
	Tax       money.Money `json:"tax"`
	Total     money.Money `json:"total"`
	// TaxRateBP was added with invoices: orders placed before carry 0.
	TaxRateBP int64 `json:"tax_rate_bp" doc:"The line's tax rate in basis points (1900 = 19%), as priced at checkout; 0 in orders placed before it was recorded."`
}

// ShipmentStatus is where a shipment is.
type ShipmentStatus string

// The shipment statuses.
const (
	ShipmentShipped   ShipmentStatus = "shipped"
	ShipmentInTransit ShipmentStatus = "in_transit"
	ShipmentDelivered ShipmentStatus = "delivered"
)

// TrackingEvent is one step of a shipment's journey, shown to the customer.
type TrackingEvent struct {
	At       time.Time      `json:"at"`
	Status   ShipmentStatus `json:"status"`
	Location string         `json:"location,omitempty"`
	Note     string         `json:"note,omitempty"`
}

// Shipment is a parcel handed to a carrier.
type Shipment struct {
	ID             string          `json:"id"`
	Carrier        string          `json:"carrier"`
	TrackingNumber string          `json:"tracking_number"`
	TrackingURL    string          `json:"tracking_url,omitempty"`
	Status         ShipmentStatus  `json:"status" enum:"shipped,in_transit,delivered"`
	Events         []TrackingEvent `json:"events"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// ReturnStatus is where a return is. receiving is held while the stock and
// refund of a received return are being settled; refund_declined is a
// received return whose refund the payment provider refused for good (the
// stock is back): staff refund it another way, or receive it again to
// retry the refund.
type ReturnStatus string

// The return statuses.
const (
	ReturnRequested      ReturnStatus = "requested"
	ReturnReceiving      ReturnStatus = "receiving"
	ReturnReceived       ReturnStatus = "received"
	ReturnRejected       ReturnStatus = "rejected"
	ReturnRefundDeclined ReturnStatus = "refund_declined"
)

// ReturnLine is a quantity of one SKU sent back; Restock tells whether it
// went back into stock when received.
type ReturnLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
	Restock  bool   `json:"restock"`
}

// Return is a customer's request to send lines back, and its outcome.
type Return struct {
	ID           string       `json:"id"`
	Status       ReturnStatus `json:"status" enum:"requested,receiving,received,rejected,refund_declined"`
	Lines        []ReturnLine `json:"lines"`
	RefundAmount money.Money  `json:"refund_amount" doc:"What was (or is being) refunded on receipt."`
	Reason       string       `json:"reason,omitempty"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// TimelineEntry is one step of an order's history.
type TimelineEntry struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Note   string    `json:"note,omitempty"`
}

// Order is an order: the body of every order operation and the payload of
// every order event. Token is set only in the checkout answer: it is the
// guest's key to the order and is never stored or shown again.
type Order struct {
	ID              string          `json:"id"`
	Status          Status          `json:"status"`
	Email           string          `json:"email"`
	CustomerID      string          `json:"customer_id,omitempty" doc:"The customer account the order belongs to: set by a checkout with the customer's access token, or when a customer verifies the email address of a guest order."`
	Currency        string          `json:"currency"`
	Lines           []Line          `json:"lines"`
	Subtotal        money.Money     `json:"subtotal"`
	Discount        money.Money     `json:"discount"`
	Shipping        money.Money     `json:"shipping" doc:"Shipping, its tax included."`
	ShippingMethod  string          `json:"shipping_method,omitempty"`
	Tax             money.Money     `json:"tax"`
	Total           money.Money     `json:"total"`
	TaxInclusive    bool            `json:"tax_inclusive"`
	Captured        money.Money     `json:"captured"`
	Refunded        money.Money     `json:"refunded"`
	TotalDue        money.Money     `json:"total_due" doc:"total - captured + refunded."`
	Coupon          string          `json:"coupon,omitempty"`
	ShippingAddress Address         `json:"shipping_address"`
	BillingAddress  *Address        `json:"billing_address,omitempty" doc:"The address invoices bill; absent: the shipping address."`
	CartID          string          `json:"cart_id,omitempty"`
	CancelReason    string          `json:"cancel_reason,omitempty"`
	Shipments       []Shipment      `json:"shipments"`
	Returns         []Return        `json:"returns"`
	Timeline        []TimelineEntry `json:"timeline"`
	Token           string          `json:"token,omitempty" doc:"The guest's secret key to the order: only in the checkout answer."`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// OrderList is a page of orders, newest first. Listed orders carry no
// shipments or returns: read one order for those.
type OrderList struct {
	Items      []Order `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last."`
}

// ShipmentCreate is the body of POST /api/v1/admin/orders/{id}/shipments.
type ShipmentCreate struct {
	Carrier        string `json:"carrier" minLength:"1" maxLength:"100" example:"DHL"`
	TrackingNumber string `json:"tracking_number" minLength:"1" maxLength:"100" example:"JD014600006281230704"`
	TrackingURL    string `json:"tracking_url,omitempty" maxLength:"2048" format:"uri"`
}

// TrackingUpdate is the body of POST …/shipments/{sid}/events.
type TrackingUpdate struct {
	Status   ShipmentStatus `json:"status" enum:"in_transit,delivered"`
	Location string         `json:"location,omitempty" maxLength:"200"`
	Note     string         `json:"note,omitempty" maxLength:"500"`
}

// RefundCreate is the body of POST /api/v1/admin/orders/{id}/refunds. Key
// makes the refund idempotent: the same key refunds once.
type RefundCreate struct {
	Amount money.Money `json:"amount"`
	Reason string      `json:"reason,omitempty" maxLength:"500"`
	Key    string      `json:"key" minLength:"1" maxLength:"100" doc:"Idempotency key of this refund." example:"refund-1"`
}

// ReturnLineRequest is one line of a return request.
type ReturnLineRequest struct {
	SKU      string `json:"sku" minLength:"1" maxLength:"100"`
	Quantity int64  `json:"quantity" minimum:"1" maximum:"10000"`
}

// ReturnCreate is the body of POST /api/v1/orders/{id}/returns.
type ReturnCreate struct {
	Lines  []ReturnLineRequest `json:"lines" minItems:"1" maxItems:"100"`
	Reason string              `json:"reason,omitempty" maxLength:"500"`
}

// ReturnReceive is the body of POST …/returns/{rid}/receive: which lines go
// back into stock (all when Restock is absent) and what is refunded (the
// returned lines' totals when Refund is absent, plus shipping when
// IncludeShipping).
type ReturnReceive struct {
	Restock         []string     `json:"restock,omitempty" maxItems:"100" doc:"SKUs to restock; absent: every returned line."`
	Refund          *money.Money `json:"refund,omitempty" doc:"Amount to refund; absent: the returned lines' totals."`
	IncludeShipping bool         `json:"include_shipping,omitempty" doc:"Add the order's shipping to the default refund."`
}
