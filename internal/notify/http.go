package notify

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/web"
)

// managers are the staff roles that run the store's webhooks.
var managers = []auth.Role{auth.RoleOwner, auth.RoleManager}

// access is the notify service's authorization table: the staff roles that
// may call each operation, by huma OperationID. The platform enforces it
// (web.Roles): beyond it, the admin token may call every operation, and a
// secret API key those a manager may. Only owners and managers see
// webhooks at all: deliveries carry the events' data (orders, with
// customers' addresses), and a subscription decides where that data goes.
var access = map[string][]auth.Role{
	"notify-event-types":         managers,
	"notify-create-subscription": managers,
	"notify-list-subscriptions":  managers,
	"notify-get-subscription":    managers,
	"notify-update-subscription": managers,
	"notify-delete-subscription": managers,
	"notify-list-deliveries":     managers,
	"notify-get-delivery":        managers,
	"notify-replay-delivery":     managers,
	"notify-replay-deliveries":   managers,
	// Emails carry customers' addresses and orders: the same roles.
	"notify-list-emails":  managers,
	"notify-get-email":    managers,
	"notify-resend-email": managers,
}

// register registers op, guarded by its roles in access, with h's errors
// mapped by problems.
func register[I, O any](api huma.API, op huma.Operation, h func(context.Context, *I) (*O, error)) {
	tags := op.Tags
	if tags == nil {
		tags = []string{"webhooks"}
	}
	op = web.Roles(op, append([]auth.Role{}, access[op.OperationID]...)...)
	op.Tags = tags
	huma.Register(api, op, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, problems.Map(err)
		}
		return out, nil
	})
}

// Routes registers the webhook operations under /api/v1/admin/webhooks/
// and the email operations under /api/v1/admin/emails/.
func (s *Service) Routes(api *web.API) {
	s.emailRoutes(api)
	api.Tag("webhooks", "The store's webhooks: subscriptions (an endpoint, the event types it receives and a signing "+
		"secret), the delivery log and replay. Requests are signed as the Standard Webhooks specification says; see docs/webhooks.md.")
	const base = "/api/v1/admin/webhooks"
	register(api, huma.Operation{OperationID: "notify-event-types", Method: http.MethodGet, Path: base + "/event-types",
		Summary: "List the event types a store may subscribe to", Description: "The event types a subscription's event_types may name."}, s.eventTypes)
	register(api, web.Answers(huma.Operation{OperationID: "notify-create-subscription", Method: http.MethodPost, Path: base + "/subscriptions",
		Summary: "Create a webhook subscription", DefaultStatus: http.StatusCreated,
		Description: "Creates an enabled subscription. The answer carries the signing secret (whsec_…), shown this once: " +
			"keep it to verify the webhook-signature header. A URL whose host is a loopback, private, link-local or " +
			"metadata address is refused with 422 target_not_allowed (unless the server runs with -notify.webhooks-allow-private)."},
		ansTargetNotAllowed), s.createSubscription)
	register(api, web.Answers(huma.Operation{OperationID: "notify-list-subscriptions", Method: http.MethodGet, Path: base + "/subscriptions",
		Summary: "List webhook subscriptions in creation order", Description: "A page at a time: pass next_cursor back as cursor. Secrets are not shown."},
		ansInvalidCursor), s.listSubscriptions)
	register(api, web.Answers(huma.Operation{OperationID: "notify-get-subscription", Method: http.MethodGet, Path: base + "/subscriptions/{id}",
		Summary: "Get a webhook subscription", Description: "One subscription, without its secret; failing_since says since when its endpoint fails."},
		ansSubscriptionNotFound), s.getSubscription)
	register(api, web.Answers(huma.Operation{OperationID: "notify-update-subscription", Method: http.MethodPatch, Path: base + "/subscriptions/{id}",
		Summary: "Update, disable or enable a webhook subscription",
		Description: "A partial update: absent fields stay. enabled false disables (no deliveries are made for it); " +
			"true enables again and forgets past failures."},
		ansSubscriptionNotFound, ansTargetNotAllowed), s.updateSubscription)
	register(api, web.Answers(huma.Operation{OperationID: "notify-delete-subscription", Method: http.MethodDelete, Path: base + "/subscriptions/{id}",
		Summary: "Delete a webhook subscription", Description: "Deletes the subscription with its deliveries and their log.",
		DefaultStatus: http.StatusNoContent}, ansSubscriptionNotFound), s.deleteSubscription)
	register(api, web.Answers(huma.Operation{OperationID: "notify-list-deliveries", Method: http.MethodGet, Path: base + "/deliveries",
		Summary:     "List webhook deliveries, newest first",
		Description: "One delivery per subscription per event. A page at a time: pass next_cursor back as cursor."},
		ansInvalidCursor), s.listDeliveries)
	register(api, web.Answers(huma.Operation{OperationID: "notify-get-delivery", Method: http.MethodGet, Path: base + "/deliveries/{id}",
		Summary: "Get a webhook delivery with its log",
		Description: "The delivery, the exact body sent, and its log: one entry per attempt, with the request's headers, " +
			"the answer's status and the start of its body, and the time taken."},
		ansDeliveryNotFound), s.getDelivery)
	register(api, web.Answers(huma.Operation{OperationID: "notify-replay-delivery", Method: http.MethodPost, Path: base + "/deliveries/{id}/replay",
		Summary:     "Send a webhook delivery again",
		Description: "Queues the delivery for a new round of attempts, the first at once, with the same webhook-id and body."},
		ansDeliveryNotFound), s.replayDelivery)
	register(api, web.Answers(huma.Operation{OperationID: "notify-replay-deliveries", Method: http.MethodPost, Path: base + "/replay",
		Summary: "Send again the webhook deliveries of a time range",
		Description: "Queues again every delivery made in [from, to) that is not pending (succeeded or failed; status " +
			"narrows it), of every subscription or of subscription_id."},
		ansSubscriptionNotFound), s.replayRange)
}

// The answers of notify operations beyond the platform's.
var (
	ansSubscriptionNotFound = web.Answer{Status: http.StatusNotFound, Code: "subscription_not_found", When: "the store has no such webhook subscription"}
	ansDeliveryNotFound     = web.Answer{Status: http.StatusNotFound, Code: "delivery_not_found", When: "the store has no such webhook delivery"}
	ansTargetNotAllowed     = web.Answer{Status: http.StatusUnprocessableEntity, Code: "target_not_allowed", When: "the URL's host is a loopback, private, link-local or metadata address"}
	ansInvalidCursor        = web.Answer{Status: http.StatusUnprocessableEntity, Code: "invalid_cursor", When: "the cursor is not one this list returned"}
)

// problems is the notify service's error table, the one place its errors
// become HTTP answers.
var problems = kit.Problems{
	{Err: ErrForbiddenTarget, Status: http.StatusUnprocessableEntity, Code: "target_not_allowed", Detail: "webhooks may not reach loopback, private, link-local or metadata addresses"},
	{Err: ErrInvalid, Status: http.StatusUnprocessableEntity, Code: "validation_failed", Detail: "the request is invalid"},
	{Err: ErrSubscriptionNotFound, Status: http.StatusNotFound, Code: "subscription_not_found", Detail: "no such webhook subscription"},
	{Err: ErrDeliveryNotFound, Status: http.StatusNotFound, Code: "delivery_not_found", Detail: "no such webhook delivery"},
	{Err: ErrEmailNotFound, Status: http.StatusNotFound, Code: "email_not_found", Detail: "no such email"},
	{Err: ErrEmailNotFailed, Status: http.StatusConflict, Code: "email_not_failed", Detail: "only a failed email is sent again"},
}

type idPath struct {
	ID string `path:"id" maxLength:"100"`
}

type body[T any] struct {
	Body T
}

func ok[T any](v T) *body[T] { return &body[T]{Body: v} }

func (s *Service) eventTypes(_ context.Context, _ *struct{}) (*body[notifyapi.EventTypes], error) {
	return ok(notifyapi.EventTypes{Items: EventTypes}), nil
}

func (s *Service) createSubscription(ctx context.Context, in *body[notifyapi.SubscriptionCreate]) (*body[notifyapi.Subscription], error) {
	sub, err := s.CreateSubscription(ctx, in.Body)
	return ok(sub), err
}

func (s *Service) listSubscriptions(ctx context.Context, in *struct {
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (200) is capped."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}) (*body[notifyapi.SubscriptionList], error) {
	l, err := s.Subscriptions(ctx, in.Limit, in.Cursor)
	return ok(l), err
}

func (s *Service) getSubscription(ctx context.Context, in *idPath) (*body[notifyapi.Subscription], error) {
	sub, err := s.Subscription(ctx, in.ID)
	return ok(sub), err
}

func (s *Service) updateSubscription(ctx context.Context, in *struct {
	ID   string `path:"id" maxLength:"100"`
	Body notifyapi.SubscriptionUpdate
}) (*body[notifyapi.Subscription], error) {
	sub, err := s.UpdateSubscription(ctx, in.ID, in.Body)
	return ok(sub), err
}

func (s *Service) deleteSubscription(ctx context.Context, in *idPath) (*struct{}, error) {
	return nil, s.DeleteSubscription(ctx, in.ID)
}

func (s *Service) listDeliveries(ctx context.Context, in *struct {
	SubscriptionID string `query:"subscription_id" maxLength:"100" doc:"Only this subscription's deliveries."`
	Status         string `query:"status" enum:"pending,succeeded,failed" doc:"Only deliveries in this status."`
	EventType      string `query:"event_type" maxLength:"200" doc:"Only deliveries of this event type."`
	Limit          int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (200) is capped."`
	Cursor         string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}) (*body[notifyapi.DeliveryList], error) {
	l, err := s.Deliveries(ctx, DeliveryQuery{SubscriptionID: in.SubscriptionID, Status: in.Status, EventType: in.EventType, Limit: in.Limit, Cursor: in.Cursor})
	return ok(l), err
}

func (s *Service) getDelivery(ctx context.Context, in *idPath) (*body[notifyapi.Delivery], error) {
	d, err := s.Delivery(ctx, in.ID)
	return ok(d), err
}

func (s *Service) replayDelivery(ctx context.Context, in *idPath) (*body[notifyapi.Delivery], error) {
	d, err := s.ReplayDelivery(ctx, in.ID)
	return ok(d), err
}

func (s *Service) replayRange(ctx context.Context, in *body[notifyapi.Replay]) (*body[notifyapi.Replayed], error) {
	r, err := s.Replay(ctx, in.Body)
	return ok(r), err
}

// emailRoutes registers the email operations.
func (s *Service) emailRoutes(api *web.API) {
	api.Tag("emails", "The store's emails: one per emailed event (an order confirmed, shipped, delivered, a refund, a return, "+
		"a password reset, an address to verify, a staff invitation, a new review, a webhook disabled), with its status. "+
		"Without SMTP settings the server keeps them here only; see docs/webhooks.md.")
	const base = "/api/v1/admin/emails"
	tags := []string{"emails"}
	register(api, web.Answers(huma.Operation{OperationID: "notify-list-emails", Method: http.MethodGet, Path: base, Tags: tags,
		Summary:     "List emails, newest first",
		Description: "One email per emailed event. A page at a time: pass next_cursor back as cursor. failed is the dead letters of email: refused for good or retried in vain."},
		ansInvalidCursor), s.listEmails)
	register(api, web.Answers(huma.Operation{OperationID: "notify-get-email", Method: http.MethodGet, Path: base + "/{id}", Tags: tags,
		Summary: "Get an email with its text and HTML parts",
		Description: "The rendered email. html is the mail's markup: show it escaped or in a sandboxed frame. " +
			"A one-time link's token is masked when the server sends mail over SMTP."},
		ansEmailNotFound), s.getEmail)
	register(api, web.Answers(huma.Operation{OperationID: "notify-resend-email", Method: http.MethodPost, Path: base + "/{id}/resend", Tags: tags,
		Summary:     "Send a failed email again",
		Description: "Queues a failed email for a new round of attempts, the first at once: the same message, with the same Message-ID."},
		ansEmailNotFound, ansEmailNotFailed), s.resendEmail)
}

var (
	ansEmailNotFound  = web.Answer{Status: http.StatusNotFound, Code: "email_not_found", When: "the store has no such email"}
	ansEmailNotFailed = web.Answer{Status: http.StatusConflict, Code: "email_not_failed", When: "the email is pending, sent or kept: only a failed one is sent again"}
)

func (s *Service) listEmails(ctx context.Context, in *struct {
	Status string `query:"status" enum:"pending,sent,kept,failed" doc:"Only emails in this status."`
	Limit  int    `query:"limit" minimum:"1" doc:"Page size: default 50; larger than the maximum (200) is capped."`
	Cursor string `query:"cursor" maxLength:"1000" doc:"next_cursor of the previous page."`
}) (*body[notifyapi.EmailList], error) {
	l, err := s.Emails(ctx, in.Status, in.Limit, in.Cursor)
	return ok(l), err
}

func (s *Service) getEmail(ctx context.Context, in *idPath) (*body[notifyapi.Email], error) {
	e, err := s.Email(ctx, in.ID)
	return ok(e), err
}

func (s *Service) resendEmail(ctx context.Context, in *idPath) (*body[notifyapi.Email], error) {
	e, err := s.ResendEmail(ctx, in.ID)
	return ok(e), err
}
