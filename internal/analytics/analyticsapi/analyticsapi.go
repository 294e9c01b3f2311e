// Package analyticsapi is the analytics service's contract: the bodies of
// its staff reports (a summary with the previous period, daily series, top
// products and categories, the funnel, new and returning customers) and a
// typed client for the admin pages. The service publishes no events.
// Fields are only ever added.
//
// Money is in minor units of Currency; days are the store's calendar days
// in its time zone (docs/analytics.md defines every figure).
package analyticsapi

// Range is the period a report covers: From and To are calendar days
// (YYYY-MM-DD), both included, in TimeZone.
type Range struct {
	From     string `json:"from" doc:"First day of the period (YYYY-MM-DD), included." example:"2026-11-05"`
	To       string `json:"to" doc:"Last day of the period (YYYY-MM-DD), included." example:"2026-12-04"`
	Days     int    `json:"days" doc:"Days in the period." example:"30"`
	TimeZone string `json:"time_zone" doc:"IANA time zone the days are counted in: the store's." example:"UTC"`
	Currency string `json:"currency" doc:"ISO 4217 currency of every amount: orders in other currencies are left out." example:"EUR"`
	// Currencies are the currencies the store has counted orders in, the
	// most used first: each has a report of its own.
	Currencies []string `json:"currencies" doc:"Currencies of the store's counted orders, the most used first."`
}

// Figures are a period's figures.
type Figures struct {
	Orders             int64    `json:"orders" doc:"Orders placed in the period that were confirmed and not cancelled."`
	Gross              int64    `json:"gross" doc:"Sum of those orders' totals (lines - discounts + tax + shipping), minor units."`
	Refunded           int64    `json:"refunded" doc:"Sum of what was refunded on those orders so far, minor units."`
	Net                int64    `json:"net" doc:"gross - refunded."`
	Tax                int64    `json:"tax" doc:"Sum of those orders' tax, minor units."`
	AverageOrderValue  int64    `json:"average_order_value" doc:"gross / orders, rounded half up; 0 without orders."`
	Units              int64    `json:"units" doc:"Units sold by those orders."`
	RefundedOrders     int64    `json:"refunded_orders" doc:"Those orders with anything refunded."`
	RefundRate         float64  `json:"refund_rate" doc:"refunded_orders / orders (0 to 1); 0 without orders."`
	ReturnedUnits      int64    `json:"returned_units" doc:"Units of those orders in returns received."`
	ReturnRate         float64  `json:"return_rate" doc:"returned_units / units (0 to 1); 0 without units."`
	NewCustomers       int64    `json:"new_customers" doc:"Customers (by email) whose first counted order was placed in the period."`
	ReturningCustomers int64    `json:"returning_customers" doc:"Customers with a counted order in the period and an earlier one before it."`
	Turnover           Turnover `json:"turnover"`
}

// Turnover is inventory turnover over a period: the cost of the goods sold
// over the average value of the stock, every unit valued at its variant's
// cost price (variants without one are left out).
type Turnover struct {
	CostOfGoodsSold int64   `json:"cost_of_goods_sold" doc:"Units that left the shelf for orders in the period, times their cost price."`
	OpeningStock    int64   `json:"opening_stock" doc:"Value of the units on hand when the period began."`
	ClosingStock    int64   `json:"closing_stock" doc:"Value of the units on hand when the period ended."`
	AverageStock    int64   `json:"average_stock" doc:"(opening_stock + closing_stock) / 2, rounded half up."`
	Ratio           float64 `json:"ratio" doc:"cost_of_goods_sold / average_stock; 0 when average_stock is 0."`
}

// Rolling is revenue over the last Days days of a period.
type Rolling struct {
	Days  int   `json:"days" example:"7"`
	Gross int64 `json:"gross"`
	Net   int64 `json:"net"`
	Tax   int64 `json:"tax"`
}

// Summary is the body of GET /api/v1/admin/analytics/summary: a period's
// figures, the same for the period of the same length just before, and
// rolling revenue up to the period's last day.
type Summary struct {
	Range
	PreviousFrom string    `json:"previous_from" doc:"First day of the previous period."`
	PreviousTo   string    `json:"previous_to" doc:"Last day of the previous period."`
	Current      Figures   `json:"current"`
	Previous     Figures   `json:"previous" doc:"The figures of the period of the same length just before."`
	Rolling      []Rolling `json:"rolling" doc:"Revenue of the 7, 30 and 90 days ending on the period's last day."`
}

// Day is one day of a Series.
type Day struct {
	Date    string `json:"date" example:"2026-12-04"`
	Orders  int64  `json:"orders"`
	Gross   int64  `json:"gross"`
	Net     int64  `json:"net"`
	Tax     int64  `json:"tax"`
	Units   int64  `json:"units"`
	Gross7  int64  `json:"gross_7" doc:"Gross of the 7 days ending on this day."`
	Net7    int64  `json:"net_7" doc:"Net of the 7 days ending on this day."`
	Gross30 int64  `json:"gross_30" doc:"Gross of the 30 days ending on this day."`
	Net30   int64  `json:"net_30" doc:"Net of the 30 days ending on this day."`
	Gross90 int64  `json:"gross_90" doc:"Gross of the 90 days ending on this day."`
	Net90   int64  `json:"net_90" doc:"Net of the 90 days ending on this day."`
}

// Series is the body of GET /api/v1/admin/analytics/series: every day of
// the period, in order, days without orders included.
type Series struct {
	Range
	Items []Day `json:"items"`
}

// Top is a product's or a category's sales in a period.
type Top struct {
	ID      string `json:"id" doc:"Product or category ID; '' for products without a category."`
	Name    string `json:"name" doc:"Product title or category name, as the catalog last told."`
	Units   int64  `json:"units"`
	Revenue int64  `json:"revenue" doc:"Sum of the order lines' totals (after discounts, with tax), minor units."`
}

// TopList is the body of GET …/products and …/categories: the best
// sellers by revenue, then units.
type TopList struct {
	Range
	Items []Top `json:"items"`
}

// Funnel is the body of GET /api/v1/admin/analytics/funnel: the carts
// opened in the period, how many of them went to checkout, and how many
// became an order that counts. Every currency.
type Funnel struct {
	Range
	CartsCreated     int64   `json:"carts_created"`
	CheckoutsStarted int64   `json:"checkouts_started" doc:"Of those carts, the ones an order was placed from (confirmed or not)."`
	OrdersConfirmed  int64   `json:"orders_confirmed" doc:"Of those carts, the ones with an order that was confirmed and not cancelled."`
	CheckoutRate     float64 `json:"checkout_rate" doc:"checkouts_started / carts_created."`
	ConversionRate   float64 `json:"conversion_rate" doc:"orders_confirmed / carts_created."`
}

// Customers is the body of GET /api/v1/admin/analytics/customers: the
// period's buyers (by email, every currency), new and returning.
type Customers struct {
	Range
	New       int64 `json:"new" doc:"Customers whose first counted order was placed in the period."`
	Returning int64 `json:"returning" doc:"Customers with a counted order in the period and one before it."`
	Previous  struct {
		New       int64 `json:"new"`
		Returning int64 `json:"returning"`
	} `json:"previous" doc:"The same for the period of the same length just before."`
}
