package review

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/review/reviewapi"
)

// access is the review service's authorization table: the staff roles that
// may call each admin operation, by OperationID; the platform enforces it
// (web.Roles), and the admin and service tokens may call them all, a
// secret API key what a manager may. Everyone on the staff, support
// included, reads reviews (support answers customers about them); owners,
// managers and staff moderate and reply; only owners and managers change
// whether reviews need approval. The buyers' operations are public: the
// order token or the customer's access token proves the order is theirs.
var access = map[string][]auth.Role{
	"admin-list-reviews":        readers,
	"admin-get-review":          readers,
	"admin-approve-review":      moderators,
	"admin-reject-review":       moderators,
	"admin-hide-review":         moderators,
	"admin-reply-review":        moderators,
	"admin-get-review-settings": readers,
	"admin-put-review-settings": managers,
}

// The role sets of access.
var (
	readers    = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff, auth.RoleSupport}
	moderators = []auth.Role{auth.RoleOwner, auth.RoleManager, auth.RoleStaff}
	managers   = []auth.Role{auth.RoleOwner, auth.RoleManager}
)

// Routes registers the review operations: the public reads and the buyers'
// writes under /api/v1/reviews, and the admin API under
// /api/v1/admin/reviews, guarded by the roles in access.
func (s *Service) Routes(api *web.API) {
	api.Tag("reviews", "Buyers' reviews of the products they bought (one per line of a delivered order), the store's "+
		"replies, and each product's rating. A signed-in customer writes with their access token, a guest with the "+
		"order token from checkout (X-Order-Token).")
	api.Tag("reviews admin", "Moderation of reviews (approve, reject, hide, with a reason kept), the store's replies, "+
		"and whether reviews show at once or after approval.")
	pub := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"reviews"}
		return web.Public(op)
	}
	buyer := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"reviews"}
		return web.Public(op, web.CustomerToken)
	}
	adm := func(op huma.Operation) huma.Operation {
		op.Tags = []string{"reviews admin"}
		// A copy: web.Roles keeps the slice.
		return web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	}
	const base, admin = "/api/v1/reviews", "/api/v1/admin/reviews"

	huma.Register(api, pub(huma.Operation{OperationID: "list-product-reviews", Method: http.MethodGet, Path: base,
		Summary: "List a product's published reviews", Description: "Newest first, with the store's replies. Paged by cursor."}), s.listProductReviews)
	huma.Register(api, pub(huma.Operation{OperationID: "list-ratings", Method: http.MethodGet, Path: base + "/ratings",
		Summary: "Get the ratings of products", Description: "Count, average and histogram of each product's published " +
			"reviews, in the order asked (up to 100 product IDs, comma-separated): a listing reads its cards' ratings at once. " +
			"A product without reviews has count 0."}), s.listRatings)
	huma.Register(api, web.Answers(buyer(huma.Operation{OperationID: "create-review", Method: http.MethodPost, Path: base,
		Summary: "Review a line of a delivered order", DefaultStatus: http.StatusCreated,
		Description: "Only the buyer, once per order line, after delivery. A guest sends the order token (X-Order-Token " +
			"or ?token=), a customer their access token. The review is published at once, or pending until staff approve " +
			"it, as the store is set. Title, body and name are plain text (HTML is kept as typed and shown escaped)."}),
		ansNotBuyer, ansNotDelivered, ansAlreadyReviewed, ansRateLimited), s.createReview)
	huma.Register(api, web.Answers(buyer(huma.Operation{OperationID: "update-review", Method: http.MethodPatch, Path: base + "/{id}",
		Summary: "Edit your review", Description: "Absent fields stay. The edit goes through moderation again: pending " +
			"in a store that approves reviews, and after staff rejected or hid it; published otherwise."}),
		ansReviewNotFound, ansRateLimited), s.updateReview)
	huma.Register(api, web.Answers(buyer(huma.Operation{OperationID: "delete-review", Method: http.MethodDelete, Path: base + "/{id}",
		Summary: "Delete your review", DefaultStatus: http.StatusNoContent,
		Description: "The review and its place in the product's rating go; the order line may be reviewed again."}),
		ansReviewNotFound), s.deleteReview)
	huma.Register(api, buyer(huma.Operation{OperationID: "list-order-reviews", Method: http.MethodGet, Path: base + "/orders/{order_id}",
		Summary: "List your reviews of an order", Description: "Which lines of the order you reviewed, with each review's " +
			"status and the reason staff gave, and the SKUs of the lines you may review now (the order is delivered and " +
			"the line has no review). An order that is not the caller's (or not known to the review service yet) has " +
			"neither: both lists are empty, as for an order that exists nowhere."}), s.listOrderReviews)

	huma.Register(api, adm(huma.Operation{OperationID: "admin-list-reviews", Method: http.MethodGet, Path: admin,
		Summary: "List reviews by status", Description: "The store's reviews of one status (pending by default), newest first."}), s.adminList)
	huma.Register(api, adm(huma.Operation{OperationID: "admin-get-review-settings", Method: http.MethodGet, Path: admin + "/settings",
		Summary: "Get the review settings", Description: "moderation: publish (reviews show at once, the default) or approve (staff approve each first)."}), s.getSettings)
	huma.Register(api, adm(huma.Operation{OperationID: "admin-put-review-settings", Method: http.MethodPut, Path: admin + "/settings",
		Summary: "Replace the review settings", Description: "Applies to reviews written or edited from now on; existing ones keep their status."}), s.putSettings)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-get-review", Method: http.MethodGet, Path: admin + "/{id}",
		Summary: "Get a review", Description: "With its order, status and the reason of its last moderation."}), ansReviewNotFound), s.adminGet)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-approve-review", Method: http.MethodPost, Path: admin + "/{id}/approve",
		Summary: "Publish a review", Description: "Publishes a pending review, or brings back a rejected or hidden one. " +
			"Approving a published review changes nothing."}), ansReviewNotFound, ansTransition), s.approve)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-reject-review", Method: http.MethodPost, Path: admin + "/{id}/reject",
		Summary: "Reject a pending review", Description: "It is never shown; the reason is kept and shown to its author. " +
			"A published review is hidden instead (409 invalid_transition)."}), ansReviewNotFound, ansTransition), s.reject)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-hide-review", Method: http.MethodPost, Path: admin + "/{id}/hide",
		Summary: "Hide a published review", Description: "Takes it off the storefront and out of the product's rating; the " +
			"reason is kept. Approve brings it back."}), ansReviewNotFound, ansTransition), s.hide)
	huma.Register(api, web.Answers(adm(huma.Operation{OperationID: "admin-reply-review", Method: http.MethodPut, Path: admin + "/{id}/reply",
		Summary: "Reply to a review", Description: "The store's public answer, shown under the review; an empty body removes it."}),
		ansReviewNotFound), s.reply)
}

// buyerOf is the caller as a Buyer: a customer of this store by their
// access token, and the order token if one came.
func buyerOf(ctx context.Context, query, header string) Buyer {
	var b Buyer
	if p, ok := auth.From(ctx); ok && p.Kind == auth.KindCustomer {
		b.CustomerID = p.Subject
	}
	b.OrderToken = header
	if b.OrderToken == "" {
		b.OrderToken = query
	}
	return b
}

type reviewOutput struct{ Body reviewapi.Review }
type listOutput struct{ Body reviewapi.ReviewList }

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

func (s *Service) listProductReviews(ctx context.Context, in *struct {
	ProductID string `query:"product_id" required:"true" minLength:"1" maxLength:"100" doc:"The product whose reviews to list."`
	Cursor    string `query:"cursor" maxLength:"500"`
	Limit     int    `query:"limit" minimum:"0" doc:"Page size; capped at the service's maximum."`
}) (*listOutput, error) {
	l, err := s.ProductReviews(ctx, in.ProductID, in.Cursor, in.Limit)
	if err != nil {
		return nil, toProblem(err)
	}
	return &listOutput{Body: l}, nil
}

func (s *Service) listRatings(ctx context.Context, in *struct {
	ProductIDs []string `query:"product_id" required:"true" minItems:"1" doc:"Product IDs, comma-separated (at most 100)."`
}) (*struct{ Body reviewapi.RatingList }, error) {
	ids := make([]string, 0, len(in.ProductIDs))
	for _, id := range in.ProductIDs {
		if id = strings.TrimSpace(id); id != "" {
			ids = append(ids, id)
		}
	}
	l, err := s.Ratings(ctx, ids)
	if err != nil {
		return nil, toProblem(err)
	}
	return &struct{ Body reviewapi.RatingList }{reviewapi.RatingList{Items: l}}, nil
}

func (s *Service) createReview(ctx context.Context, in *struct {
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
	Body        reviewapi.ReviewCreate
}) (*reviewOutput, error) {
	r, err := s.Create(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &reviewOutput{Body: r}, nil
}

func (s *Service) updateReview(ctx context.Context, in *struct {
	ID          string `path:"id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
	Body        reviewapi.ReviewUpdate
}) (*reviewOutput, error) {
	r, err := s.Update(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.ID, in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &reviewOutput{Body: r}, nil
}

func (s *Service) deleteReview(ctx context.Context, in *struct {
	ID          string `path:"id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
}) (*struct{}, error) {
	if err := s.Delete(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.ID); err != nil {
		return nil, toProblem(err)
	}
	return &struct{}{}, nil
}

func (s *Service) listOrderReviews(ctx context.Context, in *struct {
	OrderID     string `path:"order_id" maxLength:"100"`
	Token       string `query:"token" maxLength:"100" doc:"The order token from checkout."`
	HeaderToken string `header:"X-Order-Token" maxLength:"100" doc:"The order token from checkout (instead of ?token=)."`
}) (*struct{ Body reviewapi.OrderReviews }, error) {
	l, err := s.OrderReviews(ctx, buyerOf(ctx, in.Token, in.HeaderToken), in.OrderID)
	if err != nil {
		return nil, toProblem(err)
	}
	return &struct{ Body reviewapi.OrderReviews }{l}, nil
}

func (s *Service) adminList(ctx context.Context, in *struct {
	Status string `query:"status" enum:"pending,published,rejected,hidden" default:"pending" doc:"Which reviews to list."`
	Cursor string `query:"cursor" maxLength:"500"`
	Limit  int    `query:"limit" minimum:"0" doc:"Page size; capped at the service's maximum."`
}) (*listOutput, error) {
	l, err := s.AdminReviews(ctx, reviewapi.Status(in.Status), in.Cursor, in.Limit)
	if err != nil {
		return nil, toProblem(err)
	}
	return &listOutput{Body: l}, nil
}

func (s *Service) adminGet(ctx context.Context, in *idPath) (*reviewOutput, error) {
	r, err := s.AdminReview(ctx, in.ID)
	if err != nil {
		return nil, toProblem(err)
	}
	return &reviewOutput{Body: r}, nil
}

// staffID is who moderates: the staff account, or the kind of credential
// (an API key's ID, the admin token).
func staffID(ctx context.Context) string {
	p, _ := auth.From(ctx)
	return string(p.Kind) + ":" + p.Subject
}

func (s *Service) approve(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body *reviewapi.Approve
}) (*reviewOutput, error) {
	var reason string
	if in.Body != nil {
		reason = in.Body.Reason
	}
	return s.moderate(ctx, in.ID, reviewapi.StatusPublished, reason)
}

func (s *Service) reject(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body reviewapi.Moderate
}) (*reviewOutput, error) {
	return s.moderate(ctx, in.ID, reviewapi.StatusRejected, in.Body.Reason)
}

func (s *Service) hide(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body reviewapi.Moderate
}) (*reviewOutput, error) {
	return s.moderate(ctx, in.ID, reviewapi.StatusHidden, in.Body.Reason)
}

func (s *Service) moderate(ctx context.Context, id string, to reviewapi.Status, reason string) (*reviewOutput, error) {
	r, err := s.Moderate(ctx, id, to, reason, staffID(ctx))
	if err != nil {
		return nil, toProblem(err)
	}
	return &reviewOutput{Body: r}, nil
}

func (s *Service) reply(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body reviewapi.Reply
}) (*reviewOutput, error) {
	r, err := s.Reply(ctx, in.ID, in.Body.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &reviewOutput{Body: r}, nil
}

func (s *Service) getSettings(ctx context.Context, _ *struct{}) (*struct{ Body reviewapi.Settings }, error) {
	v, err := s.Settings(ctx)
	if err != nil {
		return nil, toProblem(err)
	}
	return &struct{ Body reviewapi.Settings }{v}, nil
}

func (s *Service) putSettings(ctx context.Context, in *struct{ Body reviewapi.Settings }) (*struct{ Body reviewapi.Settings }, error) {
	v, err := s.PutSettings(ctx, in.Body)
	if err != nil {
		return nil, toProblem(err)
	}
	return &struct{ Body reviewapi.Settings }{v}, nil
}

// The answers of review operations beyond the platform's (see problems).
var (
	ansNotBuyer        = web.Answer{Status: http.StatusForbidden, Code: "not_a_buyer", When: "the caller did not show they bought this (no order token or customer token, no such order, not theirs, a wrong order token, no such line)"}
	ansNotDelivered    = web.Answer{Status: http.StatusConflict, Code: "not_delivered", When: "the order is not delivered (yet, or it was cancelled)"}
	ansAlreadyReviewed = web.Answer{Status: http.StatusConflict, Code: "already_reviewed", When: "the order line has its review already: edit that one"}
	ansRateLimited     = web.Answer{Status: http.StatusTooManyRequests, Code: "rate_limited", When: "the author wrote too many reviews lately (-review.write-limit per -review.write-window): retry after Retry-After seconds"}
	ansReviewNotFound  = web.Answer{Status: http.StatusNotFound, Code: "review_not_found", When: "no such review, or not shown to be the caller's (no order token or customer token, or another's)"}
	ansTransition      = web.Answer{Status: http.StatusConflict, Code: "invalid_transition", When: "the review's status does not allow this moderation"}
)

// toProblem is the HTTP answer for a service error: a rate-limited write
// with Retry-After here, the rest by problems.
func toProblem(err error) error {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		return huma.ErrorWithHeaders(problems.Map(err), http.Header{"Retry-After": {strconv.Itoa(rl.RetryAfterSeconds())}})
	}
	return problems.Map(err)
}

// problems maps the service's errors to their HTTP status and stable code.
// Anything else goes to the platform as a bare 500.
var problems = kit.Problems{
	{Err: ErrNotBuyer, Status: http.StatusForbidden, Code: "not_a_buyer", Detail: "only the buyer of an order may review its lines"},
	{Err: ErrNotDelivered, Status: http.StatusConflict, Code: "not_delivered", Detail: "the order is not delivered: review it once it has arrived"},
	{Err: ErrAlreadyReviewed, Status: http.StatusConflict, Code: "already_reviewed", Detail: "this order line is reviewed already: edit that review"},
	{Err: ErrRateLimited, Status: http.StatusTooManyRequests, Code: "rate_limited", Detail: "too many reviews written lately; try again later"},
	{Err: ErrNotFound, Status: http.StatusNotFound, Code: "review_not_found", Detail: "no such review"},
	{Err: ErrTransition, Status: http.StatusConflict, Code: "invalid_transition", Detail: "the review's status does not allow this"},
}
