package storefront

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/platform/live"
	"github.com/mercato/mercato/internal/platform/tenancy"
)

// LiveTypes are the event types an order page follows: the order's own
// and its payment's. The hub (Deps.Live) must listen to them.
var LiveTypes = []string{"order.>", "payment.>"}

// orderEvents streams one order's changes to its page (Server-Sent
// Events), for the same visitor the page is for and checked the same way:
// the order service reads the order with the visitor's token or order
// token, and only that order's events of the store of the Host are sent.
// A visitor who may not see the order gets the 404 page, so EventSource
// gives up instead of retrying.
func (s *Service) orderEvents(w http.ResponseWriter, r *http.Request) {
	if s.deps.Live == nil {
		s.kit.NotFound(w, r)
		return
	}
	ctx, err := s.buyerContext(r)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	o, ok := s.buyersOrder(ctx, w, r, r.URL.Query().Get("token"))
	if !ok {
		return
	}
	tenant, err := tenancy.ID(r.Context())
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	s.deps.Live.Serve(w, r, tenant, live.Filter{Types: LiveTypes, Ref: o.ID, Render: renderOrderEvent})
}

// orderUpdate is what an order page gets of an event: that the order
// changed, and its status when the event says. The page reads the rest
// again from its own address, as the visitor.
type orderUpdate struct {
	Type    string `json:"type"`
	OrderID string `json:"order_id"`
	At      string `json:"at"`
	Status  string `json:"status,omitempty"`
	Label   string `json:"label,omitempty"`
}

// renderOrderEvent keeps an event's type, time and (for the order's own
// events) the order's status: nothing of the payload's personal data.
func renderOrderEvent(e live.Event) ([]byte, bool) {
	u := orderUpdate{Type: e.Type, OrderID: e.Ref, At: e.Time.UTC().Format(time.RFC3339Nano)}
	var o struct {
		Status string `json:"status"`
	}
	if strings.HasPrefix(e.Type, "order.") && json.Unmarshal(e.Data, &o) == nil && o.Status != "" {
		u.Status, u.Label = o.Status, statusLabel(o.Status)
	}
	b, err := json.Marshal(u)
	return b, err == nil
}
