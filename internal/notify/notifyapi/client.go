package notifyapi

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/mercato/mercato/internal/platform/apiclient"
)

// Client calls the notify service's webhook and email API: the admin pages call it
// with the signed-in staff member's token. It is safe for concurrent use.
type Client struct {
	c *apiclient.Client
}

// NewClient returns a client for the notify API at baseURL (scheme and
// host). A nil hc means apiclient's default.
func NewClient(baseURL string, hc *http.Client) *Client {
	return &Client{c: apiclient.New(Source, strings.TrimSuffix(baseURL, "/"), hc)}
}

const base = "/api/v1/admin/webhooks"

// EventTypes lists the event types a store may subscribe to.
func (c *Client) EventTypes(ctx context.Context) ([]string, error) {
	var out EventTypes
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: base + "/event-types", Out: &out})
	return out.Items, err
}

// CreateSubscription creates a subscription; the answer carries its secret.
// It sends no Idempotency-Key: the platform would keep the answer, secret
// included, to replay it.
func (c *Client) CreateSubscription(ctx context.Context, in SubscriptionCreate) (Subscription, error) {
	var out Subscription
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: base + "/subscriptions", Body: in, Out: &out})
	return out, err
}

// Subscriptions returns a page of subscriptions in creation order.
func (c *Client) Subscriptions(ctx context.Context, cursor string, limit int) (SubscriptionList, error) {
	var out SubscriptionList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery(base+"/subscriptions", url.Values{}, cursor, limit), Out: &out})
	return out, err
}

// Subscription returns one subscription.
func (c *Client) Subscription(ctx context.Context, id string) (Subscription, error) {
	var out Subscription
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: base + "/subscriptions/" + url.PathEscape(id), Out: &out})
	return out, err
}

// UpdateSubscription changes what in sets.
func (c *Client) UpdateSubscription(ctx context.Context, id string, in SubscriptionUpdate) (Subscription, error) {
	var out Subscription
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPatch, Path: base + "/subscriptions/" + url.PathEscape(id), Body: in, Out: &out, Idempotent: true})
	return out, err
}

// DeleteSubscription deletes a subscription with its deliveries.
func (c *Client) DeleteSubscription(ctx context.Context, id string) error {
	return c.c.Do(ctx, apiclient.Call{Method: http.MethodDelete, Path: base + "/subscriptions/" + url.PathEscape(id)})
}

// DeliveryParams filters and pages the delivery list; zero values are unset.
type DeliveryParams struct {
	SubscriptionID, Status, EventType string
	Cursor                            string
	Limit                             int
}

// Deliveries returns a page of deliveries, newest first.
func (c *Client) Deliveries(ctx context.Context, p DeliveryParams) (DeliveryList, error) {
	q := url.Values{}
	for k, v := range map[string]string{"subscription_id": p.SubscriptionID, "status": p.Status, "event_type": p.EventType} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out DeliveryList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery(base+"/deliveries", q, p.Cursor, p.Limit), Out: &out})
	return out, err
}

// Delivery returns one delivery with its body and log.
func (c *Client) Delivery(ctx context.Context, id string) (Delivery, error) {
	var out Delivery
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: base + "/deliveries/" + url.PathEscape(id), Out: &out})
	return out, err
}

// ReplayDelivery queues one delivery again.
func (c *Client) ReplayDelivery(ctx context.Context, id string) (Delivery, error) {
	var out Delivery
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: base + "/deliveries/" + url.PathEscape(id) + "/replay", Out: &out, Idempotent: true})
	return out, err
}

// Replay queues again the deliveries of a time range.
func (c *Client) Replay(ctx context.Context, in Replay) (Replayed, error) {
	var out Replayed
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: base + "/replay", Body: in, Out: &out, Idempotent: true})
	return out, err
}

func withQuery(path string, q url.Values, cursor string, limit int) string {
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

const emailsBase = "/api/v1/admin/emails"

// EmailParams filters and pages the email list; zero values are unset.
type EmailParams struct {
	Status string
	Cursor string
	Limit  int
}

// Emails returns a page of the store's emails, newest first.
func (c *Client) Emails(ctx context.Context, p EmailParams) (EmailList, error) {
	q := url.Values{}
	if p.Status != "" {
		q.Set("status", p.Status)
	}
	var out EmailList
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: withQuery(emailsBase, q, p.Cursor, p.Limit), Out: &out})
	return out, err
}

// Email returns one email with its rendered parts.
func (c *Client) Email(ctx context.Context, id string) (Email, error) {
	var out Email
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodGet, Path: emailsBase + "/" + url.PathEscape(id), Out: &out})
	return out, err
}

// ResendEmail queues a failed email again.
func (c *Client) ResendEmail(ctx context.Context, id string) (Email, error) {
	var out Email
	err := c.c.Do(ctx, apiclient.Call{Method: http.MethodPost, Path: emailsBase + "/" + url.PathEscape(id) + "/resend", Out: &out, Idempotent: true})
	return out, err
}
