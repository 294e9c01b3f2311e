package analytics

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/analytics/analyticsapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// access is the analytics service's authorization table: the store's
// figures (revenue, margins, customers) are for owners and managers; the
// admin and service tokens may call them all, a secret API key what a
// manager may.
var access = map[string][]auth.Role{
	"admin-analytics-summary":        managers,
	"admin-analytics-summary-csv":    managers,
	"admin-analytics-series":         managers,
	"admin-analytics-series-csv":     managers,
	"admin-analytics-products":       managers,
	"admin-analytics-products-csv":   managers,
	"admin-analytics-categories":     managers,
	"admin-analytics-categories-csv": managers,
	"admin-analytics-funnel":         managers,
	"admin-analytics-funnel-csv":     managers,
	"admin-analytics-customers":      managers,
	"admin-analytics-customers-csv":  managers,
}

// managers are the roles that read the figures.
var managers = []auth.Role{auth.RoleOwner, auth.RoleManager}

// problems is the service's error table.
var problems = kit.Problems{
	{Err: ErrInvalid, Status: http.StatusUnprocessableEntity, Code: "invalid_period", Detail: "the report's period is refused"},
}

// Top lists' sizes.
const (
	defaultTop = 10
	maxTop     = 1000
)

// rangeInput is the period of every report.
type rangeInput struct {
	From     string `query:"from" maxLength:"10" doc:"First day (YYYY-MM-DD, in the store's time zone), with to." example:"2026-11-01"`
	To       string `query:"to" maxLength:"10" doc:"Last day, included (YYYY-MM-DD), with from." example:"2026-11-30"`
	Days     int    `query:"days" minimum:"0" doc:"Without from and to: the days ending today (default 30; 7, 30 and 90 are the dashboard's)." example:"30"`
	Currency string `query:"currency" maxLength:"3" doc:"ISO 4217 currency of the figures; default: the one the store's orders use most." example:"EUR"`
}

func (in rangeInput) query() Query {
	return Query{From: in.From, To: in.To, Days: in.Days, Currency: strings.ToUpper(in.Currency)}
}

// topInput is rangeInput and a size (huma reads the parameters of named
// fields only).
type topInput struct {
	From     string `query:"from" maxLength:"10" doc:"First day (YYYY-MM-DD, in the store's time zone), with to." example:"2026-11-01"`
	To       string `query:"to" maxLength:"10" doc:"Last day, included (YYYY-MM-DD), with from." example:"2026-11-30"`
	Days     int    `query:"days" minimum:"0" doc:"Without from and to: the days ending today (default 30; 7, 30 and 90 are the dashboard's)." example:"30"`
	Currency string `query:"currency" maxLength:"3" doc:"ISO 4217 currency of the figures; default: the one the store's orders use most." example:"EUR"`
	Limit    int    `query:"limit" minimum:"0" doc:"How many; default 10, capped at 1000."`
}

func (in topInput) query() Query {
	return rangeInput{From: in.From, To: in.To, Days: in.Days, Currency: in.Currency}.query()
}

type summaryOutput struct{ Body analyticsapi.Summary }
type seriesOutput struct{ Body analyticsapi.Series }
type topOutput struct{ Body analyticsapi.TopList }
type funnelOutput struct{ Body analyticsapi.Funnel }
type customersOutput struct{ Body analyticsapi.Customers }

// csvOutput is a report as CSV, to download: the store's private figures,
// never kept by a cache, never sniffed as something else.
type csvOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheControl       string `header:"Cache-Control"`
	NoSniff            string `header:"X-Content-Type-Options"`
	Body               []byte
}

// Routes registers the staff reports under /api/v1/admin/analytics, each
// as JSON and as CSV (the same path ending in .csv).
func (s *Service) Routes(api *web.API) {
	api.Tag("analytics admin", "The store's business figures, built from events: revenue (gross, net of refunds, tax) "+
		"per day and rolling, orders and average order value, top products and categories, refund and return rates, "+
		"inventory turnover, the cart-to-order funnel, new and returning customers. Days are the store's, in its time zone; "+
		"amounts are minor units of one currency. Each report is also served as CSV (the path ending in .csv).")
	const base = "/api/v1/admin/analytics"
	adm := func(id, path, summary, desc string) huma.Operation {
		op := huma.Operation{OperationID: id, Method: http.MethodGet, Path: base + path, Summary: summary, Description: desc,
			Tags: []string{"analytics admin"}}
		// A copy: web.Roles keeps the slice.
		return web.Roles(op, append([]auth.Role{}, access[id]...)...)
	}
	csvOp := func(id, path, summary string) huma.Operation {
		op := adm(id, path, summary, "The same report as CSV, one row per item, amounts in minor units.")
		op.Responses = map[string]*huma.Response{"200": {Description: "CSV", Content: map[string]*huma.MediaType{"text/csv": {
			Schema: &huma.Schema{Type: "string"}}}}}
		return op
	}

	huma.Register(api, adm("admin-analytics-summary", "/summary", "Get the figures of a period",
		"The period's figures and the previous period's of the same length, and revenue over the 7, 30 and 90 days ending on its last day."),
		func(ctx context.Context, in *rangeInput) (*summaryOutput, error) {
			v, err := s.Summary(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return &summaryOutput{Body: v}, nil
		})
	huma.Register(api, csvOp("admin-analytics-summary-csv", "/summary.csv", "Download the figures of a period as CSV"),
		func(ctx context.Context, in *rangeInput) (*csvOutput, error) {
			v, err := s.Summary(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return csvAnswer("summary", v.Range, analyticsapi.SummaryCSV(v))
		})
	huma.Register(api, adm("admin-analytics-series", "/series", "Get revenue per day",
		"Every day of the period, days without orders included, with the 7, 30 and 90-day sums ending on it."),
		func(ctx context.Context, in *rangeInput) (*seriesOutput, error) {
			v, err := s.Series(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return &seriesOutput{Body: v}, nil
		})
	huma.Register(api, csvOp("admin-analytics-series-csv", "/series.csv", "Download revenue per day as CSV"),
		func(ctx context.Context, in *rangeInput) (*csvOutput, error) {
			v, err := s.Series(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return csvAnswer("series", v.Range, analyticsapi.SeriesCSV(v))
		})
	huma.Register(api, adm("admin-analytics-products", "/products", "Get the best-selling products",
		"Products by revenue (the order lines' totals), then units."),
		func(ctx context.Context, in *topInput) (*topOutput, error) {
			v, err := s.Products(ctx, in.query(), web.PageSize(in.Limit, defaultTop, maxTop))
			if err != nil {
				return nil, problems.Map(err)
			}
			return &topOutput{Body: v}, nil
		})
	huma.Register(api, csvOp("admin-analytics-products-csv", "/products.csv", "Download the best-selling products as CSV"),
		func(ctx context.Context, in *topInput) (*csvOutput, error) {
			v, err := s.Products(ctx, in.query(), web.PageSize(in.Limit, defaultTop, maxTop))
			if err != nil {
				return nil, problems.Map(err)
			}
			return csvAnswer("products", v.Range, analyticsapi.TopCSV("product", v))
		})
	huma.Register(api, adm("admin-analytics-categories", "/categories", "Get the best-selling categories",
		"Categories by revenue, then units; products without a category make the category with ID ''."),
		func(ctx context.Context, in *topInput) (*topOutput, error) {
			v, err := s.Categories(ctx, in.query(), web.PageSize(in.Limit, defaultTop, maxTop))
			if err != nil {
				return nil, problems.Map(err)
			}
			return &topOutput{Body: v}, nil
		})
	huma.Register(api, csvOp("admin-analytics-categories-csv", "/categories.csv", "Download the best-selling categories as CSV"),
		func(ctx context.Context, in *topInput) (*csvOutput, error) {
			v, err := s.Categories(ctx, in.query(), web.PageSize(in.Limit, defaultTop, maxTop))
			if err != nil {
				return nil, problems.Map(err)
			}
			return csvAnswer("categories", v.Range, analyticsapi.TopCSV("category", v))
		})
	huma.Register(api, adm("admin-analytics-funnel", "/funnel", "Get the cart-to-order funnel",
		"The carts opened in the period, those an order was placed from, and those whose order was confirmed."),
		func(ctx context.Context, in *rangeInput) (*funnelOutput, error) {
			v, err := s.Funnel(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return &funnelOutput{Body: v}, nil
		})
	huma.Register(api, csvOp("admin-analytics-funnel-csv", "/funnel.csv", "Download the funnel as CSV"),
		func(ctx context.Context, in *rangeInput) (*csvOutput, error) {
			v, err := s.Funnel(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return csvAnswer("funnel", v.Range, analyticsapi.FunnelCSV(v))
		})
	huma.Register(api, adm("admin-analytics-customers", "/customers", "Get new and returning customers",
		"The period's buyers by email: those whose first order it was, and those who had ordered before."),
		func(ctx context.Context, in *rangeInput) (*customersOutput, error) {
			v, err := s.Customers(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return &customersOutput{Body: v}, nil
		})
	huma.Register(api, csvOp("admin-analytics-customers-csv", "/customers.csv", "Download new and returning customers as CSV"),
		func(ctx context.Context, in *rangeInput) (*csvOutput, error) {
			v, err := s.Customers(ctx, in.query())
			if err != nil {
				return nil, problems.Map(err)
			}
			return csvAnswer("customers", v.Range, analyticsapi.CustomersCSV(v))
		})
}

// csvAnswer encodes rows as a CSV download named after the report and
// its period.
func csvAnswer(name string, r analyticsapi.Range, rows [][]string) (*csvOutput, error) {
	b, err := analyticsapi.EncodeCSV(rows)
	if err != nil {
		return nil, err
	}
	return &csvOutput{ContentType: "text/csv; charset=utf-8", Body: b, CacheControl: "private, no-store", NoSniff: "nosniff",
		ContentDisposition: `attachment; filename="analytics-` + name + "-" + r.From + "-" + r.To + `.csv"`}, nil
}
