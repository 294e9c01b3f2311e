package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/mercato/mercato/internal/app"
)

// shop is what the benchmarks that place orders (bench checkout, bench
// flow) prepare before they measure: a client of the benchmarked Mercato,
// products of the run's own with stock, and the guest email every order of
// the run is placed under, by which the invariants find the run's orders
// afterwards.
type shop struct {
	bc    apiClient
	run   string // unique to the run: SKUs, keys and the email carry it
	skus  []string
	stock int64
	email string
	sys   *app.System // the in-process instance; nil with -url
}

// validateShop checks the settings every order-placing benchmark shares.
func validateShop(mode string, skus int, stock int64, rounds int, cpuProfile string) error {
	if skus < 3 || skus > 1000 {
		return fmt.Errorf("bench %s: -skus must be between 3 and 1000, got %d", mode, skus)
	}
	if stock < 1 || stock > 1_000_000 {
		return fmt.Errorf("bench %s: -stock must be between 1 and 1000000, got %d", mode, stock)
	}
	if rounds < 1 || rounds > 10 {
		return fmt.Errorf("bench %s: -rounds must be between 1 and 10, got %d", mode, rounds)
	}
	if rounds > 1 && cpuProfile != "" {
		return fmt.Errorf("bench %s: -cpuprofile profiles one round; leave -rounds at 1", mode)
	}
	return nil
}

// openShop creates n products with stock units each on the Mercato at base
// and waits until pricing quotes them.
func (r *Runner) openShop(ctx context.Context, base string, sys *app.System, n int, stock int64) (*shop, error) {
	var token string
	if sys != nil {
		token = sys.Platform.Config.Web.AdminToken
	}
	token, err := r.adminToken(token)
	if err != nil {
		return nil, err
	}
	sh := &shop{
		bc:    apiClient{base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}},
		run:   strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano())),
		stock: stock,
		sys:   sys,
	}
	sh.email = "bench-" + sh.run + "@example.com"
	fmt.Fprintf(r.Stderr, "creating %d products with %d units each …\n", n, stock)
	if sh.skus, err = createSKUs(ctx, sh.bc, sh.run, n, stock); err != nil {
		return nil, fmt.Errorf("prepare products: %w", err)
	}
	return sh, nil
}

// lines are the 3 SKUs the order numbered seq buys: consecutive ones, so
// the run spreads over every SKU.
func (sh *shop) lines(seq uint64) [3]string {
	n := int(seq%uint64(len(sh.skus))) * 3
	return [3]string{sh.skus[n%len(sh.skus)], sh.skus[(n+1)%len(sh.skus)], sh.skus[(n+2)%len(sh.skus)]}
}

// orderBody is a guest checkout's body with what (items, or a cart_id)
// added: shipped to Germany, paid with the fake provider's tok_visa.
func (sh *shop) orderBody(what map[string]any) ([]byte, error) {
	body := map[string]any{
		"email": sh.email,
		"shipping_address": map[string]string{
			"name": "Bench Buyer", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE",
		},
		"payment": map[string]string{"provider": "fake", "token": "tok_visa"},
	}
	for k, v := range what {
		body[k] = v
	}
	return json.Marshal(body)
}

// checkoutTarget is the one-call checkout of 3 SKUs as a Target; *round
// goes into every Idempotency-Key, so that rounds never replay each
// other's orders.
func (sh *shop) checkoutTarget(round *int) (Target, error) {
	body, err := sh.orderBody(map[string]any{
		"items": []map[string]any{{"sku": "%[1]s", "quantity": 1}, {"sku": "%[2]s", "quantity": 1}, {"sku": "%[3]s", "quantity": 1}},
	})
	if err != nil {
		return Target{}, err
	}
	return Target{
		Name:   "mercato checkout",
		Method: http.MethodPost,
		URL:    sh.bc.base + "/api/v1/checkout",
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   body,
		Vary: func(seq uint64, h http.Header, body []byte) []byte {
			h.Set("Idempotency-Key", fmt.Sprintf("bench-%s-%d-%d", sh.run, *round, seq))
			l := sh.lines(seq)
			return fmt.Appendf(nil, string(body), l[0], l[1], l[2])
		},
		Check: func(r Response) error { return confirmedOrder(r.Status, r.Body) },
	}, nil
}

// confirmedOrder says what is wrong with a checkout's answer unless it is
// a 201 with a confirmed order.
func confirmedOrder(status int, body []byte) error {
	if status != http.StatusCreated {
		return fmt.Errorf("status %d", status)
	}
	var ord struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(body, &ord); err != nil || ord.Status != "confirmed" {
		return errors.New("not a confirmed order")
	}
	return nil
}

// judge picks the round whose comparison is judged: the only one, or with
// several rounds at full speed the median, after printing each round's
// ratio.
func judge(w io.Writer, rounds []Comparison, rate int) Comparison {
	if len(rounds) == 1 || rate != 0 {
		return rounds[0]
	}
	// The machine's speed drifts (other load, the disk): alternating
	// rounds expose both targets to the same drift, and the median round
	// is judged rather than the luckiest.
	fmt.Fprint(w, "ratio per round:")
	for _, c := range rounds {
		fmt.Fprintf(w, " %.2f", c.Ratio())
	}
	fmt.Fprintln(w, "; the median round is judged")
	return Median(rounds)
}

// checkShop checks and prints the invariants of what the run left behind,
// and fails when one is violated.
func (r *Runner) checkShop(ctx context.Context, sh *shop, mode string) error {
	fmt.Fprintln(r.Stdout, "\ninvariants after the run:")
	failed, err := checkInvariants(ctx, r.Stdout, sh.bc, sh.sys, sh.skus, sh.stock, sh.email)
	if err != nil {
		return fmt.Errorf("check invariants: %w", err)
	}
	if failed > 0 {
		return fmt.Errorf("bench %s: %d invariant(s) violated", mode, failed)
	}
	return nil
}
