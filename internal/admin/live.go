package admin

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/notify/notifyapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/platform/live"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// liveSection is an event type of the back office's notices and the
// navigation section whose roles may see it.
type liveSection struct {
	Type, Section string
}

// liveSections: new orders for those who read orders, low stock for those
// who read stock, disabled webhooks for those who manage webhooks.
var liveSections = []liveSection{
	{orderapi.SubjectConfirmed, "/admin/orders"},
	{inventoryapi.SubjectStockLow, "/admin/stock"},
	{notifyapi.SubjectWebhookDisabled, "/admin/webhooks"},
}

// LiveTypes are the event types of the notices; the hub (Deps.Live) must
// listen to them.
func LiveTypes() []string {
	out := make([]string, len(liveSections))
	for i, s := range liveSections {
		out[i] = s.Type
	}
	return out
}

// liveTypesFor are the notices role may see: those of the sections its
// navigation shows.
func (s *Service) liveTypesFor(role string) []string {
	var out []string
	for _, ls := range liveSections {
		if ls.Section == "/admin/webhooks" && s.deps.Webhooks == nil {
			continue
		}
		for _, it := range navItems {
			if it.Path == ls.Section && slices.Contains(it.Roles, role) {
				out = append(out, ls.Type)
			}
		}
	}
	return out
}

// events streams the notices of the signed-in member's store that the
// member's role may see (Server-Sent Events). A visitor not signed in
// gets 401, so EventSource gives up.
func (s *Service) events(w http.ResponseWriter, r *http.Request) {
	if s.deps.Live == nil {
		s.kit.NotFound(w, r)
		return
	}
	_, p, err := s.kit.Authed(r, "staff")
	if errors.Is(err, page.ErrSignedOut) {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	role := p.Role
	if tr := tokenRole(p.Tokens.Access); tr != "" {
		role = tr
	}
	types := s.liveTypesFor(role)
	if len(types) == 0 {
		http.Error(w, "no notices for your role", http.StatusForbidden)
		return
	}
	tenant, err := tenancy.ID(r.Context())
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.deps.Live.Serve(w, r, tenant, live.Filter{Types: types, Render: renderNotice})
}

// notice is what the layout's notice list gets of an event: a sentence and
// the page it is about.
type notice struct {
	Type string `json:"type"`
	At   string `json:"at"`
	Text string `json:"text"`
	Href string `json:"href,omitempty"`
}

// renderNotice words an event for the notice list.
func renderNotice(e live.Event) ([]byte, bool) {
	n := notice{Type: e.Type, At: e.Time.UTC().Format(time.RFC3339Nano)}
	switch e.Type {
	case orderapi.SubjectConfirmed:
		var o orderapi.OrderEvent
		if json.Unmarshal(e.Data, &o) != nil || o.ID == "" {
			return nil, false
		}
		n.Text = "New order " + orderRef(o.ID) + ", " + o.Total.String()
		n.Href = "/admin/orders/" + url.PathEscape(o.ID)
	case inventoryapi.SubjectStockLow:
		var l inventoryapi.StockLow
		if json.Unmarshal(e.Data, &l) != nil || l.SKU == "" {
			return nil, false
		}
		n.Text = "Low stock: " + l.SKU + ", " + strconv.FormatInt(l.Available, 10) + " left"
		n.Href = "/admin/stock"
	case notifyapi.SubjectWebhookDisabled:
		var d notifyapi.WebhookDisabled
		if json.Unmarshal(e.Data, &d) != nil || d.SubscriptionID == "" {
			return nil, false
		}
		n.Text = "Webhook disabled after failing: " + d.URL
		n.Href = "/admin/webhooks/" + url.PathEscape(d.SubscriptionID)
	default:
		return nil, false
	}
	b, err := json.Marshal(n)
	return b, err == nil
}
