package e2e

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/test/harness"
)

// TestLiveUpdatesAcrossProcesses runs the storefront as a process of its
// own, as in production, on every bus: an order page's stream there gets
// the order's shipment, which the order service publishes in the other
// process, and nothing of another order's.
func TestLiveUpdatesAcrossProcesses(t *testing.T) {
	t.Parallel()
	for name, flags := range busSetups() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			engine := flags(t)
			service := "-service-token=mcs_" + strings.Repeat("live", 10)
			others := "tenant,identity,staff,catalog,media,pricing,inventory,payment,cart,order,notify,review,search,admin"
			busFlag := ""
			extra := []string{"-services=" + others, service}
			for _, f := range engine {
				if strings.HasPrefix(f, "-bus=") {
					busFlag = f
				}
			}
			if busFlag == "" {
				addr := freeAddr(t)
				extra = append(extra, "-bus.listen="+addr)
				busFlag = "-bus=nats://" + addr
			}
			s := openShop(t, engine, extra...)
			var urls []string
			for svc := range strings.SplitSeq(others, ",") {
				urls = append(urls, svc+"="+s.p.URL)
			}
			front := harness.Start(t, binary, nil, "-data="+t.TempDir(), "-services=storefront", busFlag, service, "-urls="+strings.Join(urls, ","))

			sku := s.newSKU(10)
			place := func() (id, token string) {
				t.Helper()
				r := s.checkout(checkoutBody("live@example.com", "tok_visa", map[string]int{sku: 1}), "")
				var o struct{ ID, Token, Status string }
				r.JSON(t, &o)
				if r.Status != http.StatusCreated || o.Status != "confirmed" {
					t.Fatalf("checkout: %d %s", r.Status, r.Body)
				}
				return o.ID, o.Token
			}
			id1, tok1 := place()
			id2, _ := place()

			// The order page's stream, at the storefront process.
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, front.URL+"/orders/"+id1+"/events?token="+url.QueryEscape(tok1), nil)
			req.Host = "localhost"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("order stream at the storefront process: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			lines := make(chan string, 100)
			go func() {
				sc := bufio.NewScanner(resp.Body)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()

			for _, id := range []string{id2, id1} {
				r := s.p.Call("POST", "/api/v1/admin/orders/"+id+"/shipments", map[string]any{"carrier": "DHL", "tracking_number": "LIVE-" + id[len(id)-6:]},
					s.p.Admin("Idempotency-Key", "ship-"+id))
				if r.Status >= 300 {
					t.Fatalf("ship %s: %d %s", id, r.Status, r.Body)
				}
			}
			deadline := time.After(30 * time.Second)
			for event := ""; event != "order.shipped.v1"; {
				select {
				case line, ok := <-lines:
					if !ok {
						t.Fatal("the stream ended")
					}
					if name, ok := strings.CutPrefix(line, "event: "); ok {
						event = name
					}
					if data, ok := strings.CutPrefix(line, "data: "); ok && !strings.Contains(data, `"order_id":"`+id1+`"`) {
						t.Errorf("order 1's stream got %s", data)
					}
				case <-deadline:
					t.Fatal("no order.shipped.v1 on the storefront process's stream within 30s")
				}
			}
		})
	}
}
