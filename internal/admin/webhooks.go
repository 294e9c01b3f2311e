package admin

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// Webhooks are the notify service's: owners and managers see and manage
// them (its access table), nobody else. A new subscription's secret is
// shown once, in the answer that made it, as API keys are: the page is not
// cached and the secret never goes into the session.
func (s *Service) webhookRoutes(route routeFunc) {
	route("GET /admin/webhooks", s.webhooksPage)
	route("POST /admin/webhooks", s.createWebhook)
	route("GET /admin/webhooks/{id}", s.webhookPage)
	route("POST /admin/webhooks/{id}", s.updateWebhook)
	route("POST /admin/webhooks/{id}/enabled", s.enableWebhook)
	route("POST /admin/webhooks/{id}/delete", s.deleteWebhook)
	route("GET /admin/webhooks/deliveries", s.deliveriesPage)
	route("GET /admin/webhooks/deliveries/{id}", s.deliveryPage)
	route("POST /admin/webhooks/deliveries/{id}/replay", s.replayDelivery)
	route("POST /admin/webhooks/replay", s.replayDeliveries)
}

// webhookFormSlot remembers the last subscription form handled, so that a
// reload of the answer makes no second subscription (the creation takes no
// Idempotency-Key: the API would keep the secret to replay it).
const webhookFormSlot = "webhook_form"

// webhooksData is the subscription list, the creation form and the
// subscription just made.
type webhooksData struct {
	Subs       []notifyapi.Subscription
	Next       string
	EventTypes []string
	Created    *notifyapi.Subscription
	Create     *page.Form
}

// Checked reports whether the form has value among its values of name.
func (webhooksData) Checked(f *page.Form, name, value string) bool {
	return f != nil && slices.Contains(f.Values[name], value)
}

func (s *Service) webhooksPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderWebhooks(ctx, w, r, http.StatusOK, &webhooksData{Create: page.EmptyForm(url.Values{})})
}

func (s *Service) renderWebhooks(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, d *webhooksData) {
	l, err := s.deps.Webhooks.Subscriptions(ctx, r.URL.Query().Get("cursor"), 0)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if d.EventTypes, err = s.deps.Webhooks.EventTypes(ctx); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d.Subs, d.Next = l.Items, l.NextCursor
	v, err := s.view(r, "Webhooks")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data, v.Form = d, d.Create
	s.kit.Render(w, r, status, "webhooks", v)
}

// eventTypesOf returns the form's event types, marking the field when
// there are none.
func eventTypesOf(f *page.Form) []string {
	types := f.Values["event_types"]
	if len(types) == 0 {
		f.Fail("event_types", "Choose at least one event to send.")
	}
	return types
}

func (s *Service) createWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	key := f.Key()
	if s.kit.Recall(r, webhookFormSlot) == key {
		s.kit.Redirect(w, r, "/admin/webhooks", "This subscription was made already; its secret was shown once, when it was made. Delete it and make another if the secret was not copied.")
		return
	}
	in := notifyapi.SubscriptionCreate{URL: f.Get("url"), Description: f.Get("description"), EventTypes: eventTypesOf(f)}
	if in.URL == "" {
		f.Fail("url", "Enter the URL that receives the webhooks.")
	}
	d := &webhooksData{Create: f}
	status := http.StatusUnprocessableEntity
	if !f.Invalid() {
		sub, err := s.deps.Webhooks.CreateSubscription(ctx, in)
		switch {
		case err == nil:
			s.kit.Remember(r, webhookFormSlot, key)
			d.Created, d.Create, status = &sub, page.EmptyForm(url.Values{}), http.StatusOK
		case !f.Refused(err, nil):
			s.kit.Fail(w, r, err)
			return
		}
	}
	s.renderWebhooks(ctx, w, r, status, d)
}

// webhookData is one subscription, its edit form and its latest deliveries.
type webhookData struct {
	Sub        notifyapi.Subscription
	EventTypes []string
	Edit       *page.Form
	Deliveries []notifyapi.Delivery
}

// Checked is webhooksData's.
func (webhookData) Checked(f *page.Form, name, value string) bool {
	return webhooksData{}.Checked(f, name, value)
}

func (s *Service) webhookPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.renderWebhook(ctx, w, r, http.StatusOK, nil)
}

func (s *Service) renderWebhook(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, f *page.Form) {
	sub, err := s.deps.Webhooks.Subscription(ctx, r.PathValue("id"))
	if apiclient.IsStatus(err, http.StatusNotFound) {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d := &webhookData{Sub: sub, Edit: f}
	if d.Edit == nil {
		d.Edit = page.EmptyForm(url.Values{"url": {sub.URL}, "description": {sub.Description}, "event_types": sub.EventTypes})
	}
	if d.EventTypes, err = s.deps.Webhooks.EventTypes(ctx); err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	l, err := s.deps.Webhooks.Deliveries(ctx, notifyapi.DeliveryParams{SubscriptionID: sub.ID, Limit: 20})
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d.Deliveries = l.Items
	v, err := s.view(r, "Webhook "+sub.URL)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data, v.Form = d, d.Edit
	s.kit.Render(w, r, status, "webhook", v)
}

func (s *Service) updateWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	u, desc, types := f.Get("url"), f.Get("description"), eventTypesOf(f)
	if u == "" {
		f.Fail("url", "Enter the URL that receives the webhooks.")
	}
	if !f.Invalid() {
		_, err = s.deps.Webhooks.UpdateSubscription(ctx, r.PathValue("id"), notifyapi.SubscriptionUpdate{URL: &u, Description: &desc, EventTypes: &types})
		switch {
		case err == nil:
			s.kit.Redirect(w, r, "/admin/webhooks/"+url.PathEscape(r.PathValue("id")), "The subscription is saved.")
			return
		case apiclient.IsStatus(err, http.StatusNotFound):
			s.kit.NotFound(w, r)
			return
		case !f.Refused(err, nil):
			s.kit.Fail(w, r, err)
			return
		}
	}
	s.renderWebhook(ctx, w, r, http.StatusUnprocessableEntity, f)
}

func (s *Service) enableWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	on := f.Get("enabled") == "true"
	_, err = s.deps.Webhooks.UpdateSubscription(ctx, r.PathValue("id"), notifyapi.SubscriptionUpdate{Enabled: &on})
	msg := "The subscription is disabled: no deliveries are made for it."
	if on {
		msg = "The subscription is enabled again; past failures are forgotten."
	}
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		s.kit.NotFound(w, r)
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/webhooks/"+url.PathEscape(r.PathValue("id")), msg)
	}
}

func (s *Service) deleteWebhook(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	err = s.deps.Webhooks.DeleteSubscription(ctx, r.PathValue("id"))
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		s.kit.NotFound(w, r)
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/webhooks", "The subscription is deleted, with its deliveries.")
	}
}

// deliveriesData is the delivery log with its filters and the replay form.
type deliveriesData struct {
	Deliveries []notifyapi.Delivery
	Next       string
	Subs       []page.Option
	Statuses   []page.Option
	// ReplayStatuses are those a replay may narrow to: finished ones.
	ReplayStatuses []page.Option
	Filtered       bool
	Replay         *page.Form
}

var deliveryStatuses = []page.Option{{Value: "", Label: "Any"}, {Value: notifyapi.StatusPending, Label: "pending"},
	{Value: notifyapi.StatusSucceeded, Label: "succeeded"}, {Value: notifyapi.StatusFailed, Label: "failed"}}

var replayStatuses = []page.Option{{Value: "", Label: "Succeeded and failed"},
	{Value: notifyapi.StatusSucceeded, Label: "succeeded"}, {Value: notifyapi.StatusFailed, Label: "failed"}}

func (s *Service) deliveriesPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	today := time.Now().UTC().Format(time.DateOnly)
	s.renderDeliveries(ctx, w, r, http.StatusOK, page.EmptyForm(url.Values{"from": {today}, "to": {today}}))
}

func (s *Service) renderDeliveries(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, replay *page.Form) {
	form := page.EmptyForm(r.URL.Query())
	p := notifyapi.DeliveryParams{SubscriptionID: form.Get("subscription_id"), Status: form.Get("status"), Cursor: form.Get("cursor")}
	d := &deliveriesData{Statuses: deliveryStatuses, ReplayStatuses: replayStatuses, Replay: replay, Filtered: p.SubscriptionID != "" || p.Status != ""}
	subs, err := s.deps.Webhooks.Subscriptions(ctx, "", 200)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d.Subs = []page.Option{{Value: "", Label: "Any"}}
	for _, sub := range subs.Items {
		d.Subs = append(d.Subs, page.Option{Value: sub.ID, Label: sub.URL})
	}
	v, err := s.view(r, "Webhook deliveries")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Form = form
	l, err := s.deps.Webhooks.Deliveries(ctx, p)
	if err != nil {
		if form.Refused(err, nil) {
			v.Data = d
			s.kit.Render(w, r, http.StatusUnprocessableEntity, "webhook-deliveries", v)
			return
		}
		s.kit.Fail(w, r, err)
		return
	}
	d.Deliveries, d.Next = l.Items, l.NextCursor
	v.Data = d
	s.kit.Render(w, r, status, "webhook-deliveries", v)
}

func (s *Service) replayDeliveries(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	f := page.ParseForm(w, r)
	in := notifyapi.Replay{SubscriptionID: f.Get("subscription_id"), Status: f.Get("status")}
	from, err := time.Parse(time.DateOnly, f.Get("from"))
	if err != nil {
		f.Fail("from", "Enter a date like 2026-03-01.")
	}
	to, err := time.Parse(time.DateOnly, f.Get("to"))
	if err != nil {
		f.Fail("to", "Enter a date like 2026-03-31.")
	}
	in.From, in.To = from, to.AddDate(0, 0, 1) // the whole last day
	if in.Status != "" && in.Status != notifyapi.StatusSucceeded && in.Status != notifyapi.StatusFailed {
		f.Fail("status", "Choose succeeded, failed or any.")
	}
	if !f.Invalid() {
		res, err := s.deps.Webhooks.Replay(ctx, in)
		switch {
		case err == nil:
			s.kit.Redirect(w, r, "/admin/webhooks/deliveries", queuedMessage(res.Queued))
			return
		case !f.Refused(err, map[string]string{"to": "to", "from": "from"}):
			s.kit.Fail(w, r, err)
			return
		}
	}
	s.renderDeliveries(ctx, w, r, http.StatusUnprocessableEntity, f)
}

func (s *Service) deliveryPage(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	d, err := s.deps.Webhooks.Delivery(ctx, r.PathValue("id"))
	if apiclient.IsStatus(err, http.StatusNotFound) {
		s.kit.NotFound(w, r)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Webhook delivery")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = d
	s.kit.Render(w, r, http.StatusOK, "webhook-delivery", v)
}

func (s *Service) replayDelivery(w http.ResponseWriter, r *http.Request) {
	ctx, _, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	page.ParseForm(w, r)
	_, err = s.deps.Webhooks.ReplayDelivery(ctx, r.PathValue("id"))
	switch {
	case apiclient.IsStatus(err, http.StatusNotFound):
		s.kit.NotFound(w, r)
	case err != nil:
		s.kit.Fail(w, r, err)
	default:
		s.kit.Redirect(w, r, "/admin/webhooks/deliveries/"+url.PathEscape(r.PathValue("id")), "The delivery is queued to be sent again.")
	}
}

// queuedMessage says how many deliveries a replay queued.
func queuedMessage(n int64) string {
	switch n {
	case 0:
		return "No delivery of that range was finished: none is queued again."
	case 1:
		return "1 delivery is queued to be sent again."
	}
	return strconv.FormatInt(n, 10) + " deliveries are queued to be sent again."
}
