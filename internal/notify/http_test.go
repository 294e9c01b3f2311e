package notify

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/platform/sqldb"
	"github.com/mercato/mercato/internal/platform/sqldb/sqldbtest"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web/webtest"
)

func newHTTP(t *testing.T, db *sqldb.DB, cfg Config) string {
	t.Helper()
	s, _ := newTestService(t, db, cfg)
	return webtest.New(t, s.Routes).URL
}

// call sends one request as role (or with the admin token for "").
func call(t *testing.T, base, role, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if role == "" {
		req.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	} else {
		req.Header.Set("Authorization", webtest.Staff(t, auth.Role(role)))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAccessTableIsDocumented(t *testing.T) {
	db := sqldbtest.Open(t, "", Migrations...)
	webtest.CheckDocumentedRoles(t, newHTTP(t, db, testConfig()), access)
}

// TestSubscriptionsAPI: create (the secret shown once), read, edit,
// disable, delete; refusals with their codes; roles.
func TestSubscriptionsAPI(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		cfg := testConfig()
		cfg.AllowPrivate = false
		base := newHTTP(t, db, cfg)
		const path = "/api/v1/admin/webhooks/subscriptions"
		status, body := call(t, base, "manager", http.MethodPost, path, `{"url":"https://hooks.example.com/in","event_types":["order.confirmed.v1","order.confirmed.v1"]}`)
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		var sub notifyapi.Subscription
		if err := json.Unmarshal([]byte(body), &sub); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sub.Secret, "whsec_") || len(sub.EventTypes) != 1 || !sub.Enabled {
			t.Fatalf("created %+v", sub)
		}
		status, body = call(t, base, "owner", http.MethodGet, path+"/"+sub.ID, "")
		if status != http.StatusOK || strings.Contains(body, "whsec_") {
			t.Fatalf("get: %d %s (the secret is shown once)", status, body)
		}
		status, body = call(t, base, "owner", http.MethodGet, path, "")
		if status != http.StatusOK || strings.Contains(body, "whsec_") || !strings.Contains(body, sub.ID) {
			t.Fatalf("list: %d %s", status, body)
		}
		status, body = call(t, base, "manager", http.MethodPatch, path+"/"+sub.ID, `{"enabled":false,"event_types":["order.shipped.v1"]}`)
		if status != http.StatusOK || !strings.Contains(body, `"enabled":false`) || !strings.Contains(body, `"disabled_reason":"manual"`) || !strings.Contains(body, "order.shipped.v1") {
			t.Fatalf("disable: %d %s", status, body)
		}
		for _, c := range []struct {
			role, method, path, body string
			status                   int
			code                     string
		}{
			{"manager", http.MethodPost, path, `{"url":"http://127.0.0.1:9/","event_types":["order.confirmed.v1"]}`, 422, "target_not_allowed"},
			{"manager", http.MethodPost, path, `{"url":"http://169.254.169.254/latest/meta-data/","event_types":["order.confirmed.v1"]}`, 422, "target_not_allowed"},
			{"manager", http.MethodPatch, path + "/" + sub.ID, `{"url":"http://10.0.0.1/"}`, 422, "target_not_allowed"},
			{"manager", http.MethodPost, path, `{"url":"ftp://x.example.com/","event_types":["order.confirmed.v1"]}`, 422, "validation_failed"},
			{"manager", http.MethodPost, path, `{"url":"https://x.example.com/","event_types":["customer.secret.v1"]}`, 422, "validation_failed"},
			{"manager", http.MethodGet, path + "/nope", "", 404, "subscription_not_found"},
			{"manager", http.MethodGet, "/api/v1/admin/webhooks/deliveries/nope", "", 404, "delivery_not_found"},
			{"manager", http.MethodPost, "/api/v1/admin/webhooks/deliveries/nope/replay", "", 404, "delivery_not_found"},
			{"manager", http.MethodGet, "/api/v1/admin/webhooks/deliveries?cursor=zzz", "", 422, "invalid_cursor"},
			{"manager", http.MethodPost, "/api/v1/admin/webhooks/replay", `{"from":"2026-01-02T00:00:00Z","to":"2026-01-01T00:00:00Z"}`, 422, "validation_failed"},
			{"staff", http.MethodGet, path, "", 403, ""},
			{"support", http.MethodGet, "/api/v1/admin/webhooks/deliveries", "", 403, ""},
		} {
			status, body := call(t, base, c.role, c.method, c.path, c.body)
			if status != c.status || !strings.Contains(body, `"code":"`+c.code) {
				t.Errorf("%s %s as %s: %d %s, want %d %s", c.method, c.path, c.role, status, body, c.status, c.code)
			}
		}
		status, body = call(t, base, "", http.MethodGet, "/api/v1/admin/webhooks/event-types", "")
		if status != http.StatusOK || !strings.Contains(body, orderapi.SubjectConfirmed) {
			t.Fatalf("event types: %d %s", status, body)
		}
		if status, body = call(t, base, "owner", http.MethodDelete, path+"/"+sub.ID, ""); status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", status, body)
		}
		if status, _ = call(t, base, "owner", http.MethodGet, path+"/"+sub.ID, ""); status != http.StatusNotFound {
			t.Fatalf("get after delete: %d", status)
		}
	}, Migrations...)
}

// bearer adds the admin token, as the platform's service client does.
type bearer struct{}

func (bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+webtest.AdminToken)
	return http.DefaultTransport.RoundTrip(r)
}

// TestClient: the typed client the admin pages use, against the real
// handlers, deliveries included.
func TestClient(t *testing.T) {
	sqldbtest.Run(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := newTestService(t, db, testConfig())
		srv := webtest.New(t, s.Routes)
		c := notifyapi.NewClient(srv.URL, &http.Client{Transport: bearer{}})
		ctx := tenancy.WithID(t.Context(), "default")
		rcv := newReceiver(t, 1)
		types, err := c.EventTypes(ctx)
		if err != nil || len(types) == 0 {
			t.Fatalf("event types: %v %v", types, err)
		}
		sub, err := c.CreateSubscription(ctx, notifyapi.SubscriptionCreate{URL: rcv.URL, EventTypes: []string{orderapi.SubjectConfirmed}})
		if err != nil || sub.Secret == "" {
			t.Fatalf("create: %+v %v", sub, err)
		}
		run(t, s)
		if err := s.HandleEvent(ctx, event("default", orderapi.SubjectConfirmed)); err != nil {
			t.Fatal(err)
		}
		var d notifyapi.Delivery
		eventually(t, "a successful delivery", func() bool {
			l, err := c.Deliveries(ctx, notifyapi.DeliveryParams{SubscriptionID: sub.ID, Status: notifyapi.StatusSucceeded})
			if err != nil || len(l.Items) != 1 {
				return false
			}
			d, err = c.Delivery(ctx, l.Items[0].ID)
			return err == nil
		})
		if len(d.Log) != 2 || d.Log[0].ResponseStatus != 500 || d.Log[1].ResponseStatus != 204 {
			t.Fatalf("log %+v", d.Log)
		}
		if _, err := c.ReplayDelivery(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
		eventually(t, "the replay", func() bool { return len(rcv.requests()) == 3 })
		eventually(t, "the replay to finish", func() bool {
			got, err := c.Delivery(ctx, d.ID)
			return err == nil && got.Status == notifyapi.StatusSucceeded
		})
		r, err := c.Replay(ctx, notifyapi.Replay{From: d.CreatedAt, To: d.CreatedAt.Add(time.Second)})
		if err != nil || r.Queued != 1 {
			t.Fatalf("replay range: %+v %v", r, err)
		}
		off := false
		if got, err := c.UpdateSubscription(ctx, sub.ID, notifyapi.SubscriptionUpdate{Enabled: &off}); err != nil || got.Enabled {
			t.Fatalf("disable: %+v %v", got, err)
		}
		if l, err := c.Subscriptions(ctx, "", 10); err != nil || len(l.Items) != 1 || l.Items[0].Secret != "" {
			t.Fatalf("list: %+v %v", l, err)
		}
		if err := c.DeleteSubscription(ctx, sub.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Subscription(ctx, sub.ID); err == nil {
			t.Fatal("deleted subscription still there")
		}
	}, Migrations...)
}
