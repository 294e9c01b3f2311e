package admin

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/platform/live"
)

// TestLiveTypesByRole: each role gets the notices of the sections its
// navigation shows, and no webhook notices without the webhook pages.
func TestLiveTypesByRole(t *testing.T) {
	with := &Service{deps: Deps{Webhooks: &notifyapi.Client{}}}
	without := &Service{}
	all := []string{"order.confirmed.v1", "inventory.stock_low.v1", "notify.webhook_disabled.v1"}
	tests := []struct {
		s    *Service
		role string
		want []string
	}{
		{with, "owner", all},
		{with, "manager", all},
		{with, "staff", all[:2]},
		{with, "support", all[:2]},
		{with, "customer", nil},
		{without, "owner", all[:2]},
	}
	for _, tt := range tests {
		if got := tt.s.liveTypesFor(tt.role); !slices.Equal(got, tt.want) {
			t.Errorf("%s (webhooks %v): %v, want %v", tt.role, tt.s.deps.Webhooks != nil, got, tt.want)
		}
	}
}

func TestRenderNotice(t *testing.T) {
	tests := []struct {
		typ, data string
		want      notice
	}{
		{"order.confirmed.v1", `{"id":"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","total":{"amount":1999,"currency":"EUR"},"email":"ada@example.com"}`,
			notice{Text: "New order 2E3F4A5B, EUR 19.99", Href: "/admin/orders/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}},
		{"inventory.stock_low.v1", `{"sku":"TEA-1","available":2,"threshold":5}`, notice{Text: "Low stock: TEA-1, 2 left", Href: "/admin/stock"}},
		{"notify.webhook_disabled.v1", `{"subscription_id":"s1","url":"https://hooks.example.com/x"}`,
			notice{Text: "Webhook disabled after failing: https://hooks.example.com/x", Href: "/admin/webhooks/s1"}},
	}
	for _, tt := range tests {
		b, ok := renderNotice(live.Event{Type: tt.typ, Time: time.Now(), Data: json.RawMessage(tt.data)})
		var got notice
		if !ok || json.Unmarshal(b, &got) != nil || got.Text != tt.want.Text || got.Href != tt.want.Href {
			t.Errorf("%s: %s %v, want %+v", tt.typ, b, ok, tt.want)
		}
	}
	if _, ok := renderNotice(live.Event{Type: "order.shipped.v1", Data: json.RawMessage(`{}`)}); ok {
		t.Error("an event without a notice was rendered")
	}
}
