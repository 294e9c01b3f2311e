// Package notifyapi is the notify service's contract: the bodies of its
// webhook REST operations and its event payloads. Fields are only ever
// added. Times are UTC.
package notifyapi

import "time"

// Source is the service name events carry.
const Source = "notify"

// SubjectWebhookDisabled is published when a subscription is disabled
// because every delivery to it failed for the disable-after period; the
// store owner's email about it is sent by whoever consumes it.
const SubjectWebhookDisabled = "notify.webhook_disabled.v1"

// WebhookDisabled is the payload of notify.webhook_disabled.v1.
type WebhookDisabled struct {
	SubscriptionID string    `json:"subscription_id"`
	URL            string    `json:"url"`
	FailingSince   time.Time `json:"failing_since"`
	DisabledAt     time.Time `json:"disabled_at"`
}

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Subscription is a store's webhook endpoint and the event types sent to it.
type Subscription struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Enabled     bool     `json:"enabled"`
	// DisabledReason is "manual" or "failing" while disabled, "" otherwise.
	DisabledReason string `json:"disabled_reason,omitempty"`
	// FailingSince is when the first of the failed attempts since the last
	// success was made.
	FailingSince *time.Time `json:"failing_since,omitempty"`
	// Secret is the signing secret ("whsec_" + base64). Only the answer to
	// the subscription's creation carries it.
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// SubscriptionCreate is the body that creates a subscription.
type SubscriptionCreate struct {
	URL         string   `json:"url" minLength:"1" maxLength:"2000" doc:"The endpoint: http or https, not a loopback, private, link-local or metadata address."`
	Description string   `json:"description,omitempty" maxLength:"500"`
	EventTypes  []string `json:"event_types" minItems:"1" maxItems:"50" doc:"Event types to send (GET /api/v1/admin/webhooks/event-types)."`
}

// SubscriptionUpdate is a partial update: absent fields stay.
type SubscriptionUpdate struct {
	URL         *string   `json:"url,omitempty" minLength:"1" maxLength:"2000"`
	Description *string   `json:"description,omitempty" maxLength:"500"`
	EventTypes  *[]string `json:"event_types,omitempty" minItems:"1" maxItems:"50"`
	// Enabled false disables (reason "manual"); true enables again and
	// forgets past failures.
	Enabled *bool `json:"enabled,omitempty"`
}

// SubscriptionList is a page of subscriptions in creation order.
type SubscriptionList struct {
	Items      []Subscription `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// EventTypes lists the event types a store may subscribe to.
type EventTypes struct {
	Items []string `json:"items"`
}

// Delivery is one event sent (or to be sent) to one subscription.
type Delivery struct {
	ID             string `json:"id"`
	SubscriptionID string `json:"subscription_id"`
	EventID        string `json:"event_id"`
	EventType      string `json:"event_type"`
	// Status is pending, succeeded or failed (retries exhausted).
	Status   string `json:"status"`
	Attempts int    `json:"attempts"`
	// NextAttemptAt is when the next attempt is due, while pending.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// LastStatus is the HTTP status of the last answer (0: none yet, or no
	// answer).
	LastStatus int       `json:"last_status"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// Body is the exact JSON body signed and sent; Attempts the log. Only
	// one delivery's answer carries them.
	Body string    `json:"body,omitempty"`
	Log  []Attempt `json:"log,omitempty"`
}

// Attempt is one entry of the delivery log: one HTTP request and its outcome.
type Attempt struct {
	ID             string            `json:"id"`
	AttemptedAt    time.Time         `json:"attempted_at"`
	DurationMillis float64           `json:"duration_ms"`
	URL            string            `json:"url"`
	RequestHeaders map[string]string `json:"request_headers"`
	// ResponseStatus is 0 when no answer came; Error says why.
	ResponseStatus int `json:"response_status"`
	// ResponseBody is the start of the answer's body.
	ResponseBody string `json:"response_body"`
	Error        string `json:"error,omitempty"`
}

// DeliveryList is a page of deliveries, newest first.
type DeliveryList struct {
	Items      []Delivery `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Replay asks for the deliveries made in [from, to) to be sent again.
type Replay struct {
	From           time.Time `json:"from"`
	To             time.Time `json:"to"`
	SubscriptionID string    `json:"subscription_id,omitempty" maxLength:"100" doc:"Only this subscription's deliveries."`
	Status         string    `json:"status,omitempty" enum:"succeeded,failed" doc:"Only deliveries in this status (default: both)."`
}

// Replayed says how many deliveries were queued again.
type Replayed struct {
	Queued int64 `json:"queued"`
}

// Email statuses.
const (
	// EmailPending: to be rendered or sent (again, after a transient
	// failure).
	EmailPending = "pending"
	// EmailSent: the SMTP server accepted it.
	EmailSent = "sent"
	// EmailKept: the server has no SMTP settings (the laptop): the email
	// is kept, and shown in the admin, only.
	EmailKept = "kept"
	// EmailFailed: refused for good (an SMTP 5xx, no recipient) or
	// retried for the retry period in vain: the dead letters of email,
	// sent again with ResendEmail.
	EmailFailed = "failed"
)

// Email is one email the store sent (or keeps, or failed to send) on an
// event.
type Email struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// Kind says what the email is: order_confirmed, order_shipped,
	// order_delivered, refund_issued, return_received, password_reset,
	// email_verification, staff_invitation, review_published,
	// webhook_disabled.
	Kind string `json:"kind"`
	// To, Subject and MessageID are empty until the email is rendered
	// (MessageID without the angle brackets).
	To        string `json:"to"`
	Subject   string `json:"subject"`
	MessageID string `json:"message_id"`
	// Status is pending, sent, kept (no SMTP settings) or failed.
	Status   string `json:"status" enum:"pending,sent,kept,failed"`
	Attempts int    `json:"attempts"`
	// NextAttemptAt is when the next attempt is due, while pending.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// LastError is why the last attempt failed.
	LastError string    `json:"last_error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Locale, Text and HTML are the rendered parts: only one email's answer
	// carries them. HTML is the mail's markup, to be shown escaped or in a
	// sandboxed frame, never inserted into a page. A one-time link's token
	// is masked (…) once the server sends mail over SMTP.
	Locale string `json:"locale,omitempty"`
	Text   string `json:"text,omitempty"`
	HTML   string `json:"html,omitempty"`
}

// EmailList is a page of emails, newest first.
type EmailList struct {
	Items      []Email `json:"items"`
	NextCursor string  `json:"next_cursor,omitempty"`
}
