package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Client calls the cluster's APIs as its admin.
type Client struct {
	c    *Cluster
	http *http.Client
}

// Client returns a client of the cluster's APIs.
func (c *Cluster) Client() *Client {
	return &Client{c: c, http: &http.Client{Timeout: 30 * time.Second}}
}

// Do sends a request to service's address; body is JSON-encoded, out
// decoded from a 2xx answer. It returns the status (0 when no answer).
func (cl *Client) Do(ctx context.Context, service, method, path string, body, out any, header ...string) (int, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, cl.c.URL(service)+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cl.c.AdminTok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := cl.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s %s: %w", service, method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s %s: %d %s", service, method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s %s: decode: %w", service, method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// retry calls fn until it succeeds or limit passes.
func retry(ctx context.Context, limit time.Duration, fn func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stock is what the load sells: SKUs and the units each was given.
type Stock struct {
	SKUs    []string
	Initial map[string]int64
}

// Seed creates products through the catalog API and gives them stock
// through the inventory API, then waits until pricing quotes them all
// (pricing learns of products from the catalog's events). scarce of them
// get only a few units, so some checkouts run out of stock.
func (c *Cluster) Seed(ctx context.Context, run string, n, scarce int) (*Stock, error) {
	cl := c.Client()
	st := &Stock{Initial: map[string]int64{}}
	// Off the laptop shape no demo data is seeded: the store needs a
	// shipping method, its default, before it can quote a checkout.
	if err := retry(ctx, 60*time.Second, func() error {
		code, err := cl.Do(ctx, "pricing", http.MethodPost, "/api/v1/admin/pricing/shipping-methods", map[string]any{
			"code": "standard", "name": "Standard", "price": map[string]any{"amount": 490, "currency": "EUR"},
		}, nil)
		if err != nil && code != http.StatusConflict {
			return err
		}
		_, err = cl.Do(ctx, "pricing", http.MethodPut, "/api/v1/admin/pricing/settings", map[string]any{
			"default_shipping_method": "standard", "default_country": "DE"}, nil)
		return err
	}); err != nil {
		return nil, fmt.Errorf("create a shipping method: %w", err)
	}
	for i := range n {
		sku := fmt.Sprintf("C-%s-%02d", strings.ToUpper(run), i)
		units := int64(100_000)
		if i < scarce {
			units = 12
		}
		if err := retry(ctx, 60*time.Second, func() error {
			code, err := cl.Do(ctx, "catalog", http.MethodPost, "/api/v1/admin/products", map[string]any{
				"title": "Cluster product " + sku, "status": "active",
				"variants": []map[string]any{{"sku": sku, "price": map[string]any{"amount": 1290 + 10*int64(i), "currency": "EUR"}}},
			}, nil, "Idempotency-Key", "product-"+sku)
			if code == http.StatusConflict {
				return nil
			}
			return err
		}); err != nil {
			return nil, fmt.Errorf("create product %s: %w", sku, err)
		}
		if err := retry(ctx, 60*time.Second, func() error {
			_, err := cl.Do(ctx, "inventory", http.MethodPost, "/api/v1/admin/inventory/"+url.PathEscape(sku)+"/adjustments",
				map[string]any{"delta": units, "reason": "cluster stock"}, nil, "Idempotency-Key", "stock-"+sku)
			return err
		}); err != nil {
			return nil, fmt.Errorf("stock %s: %w", sku, err)
		}
		st.SKUs = append(st.SKUs, sku)
		st.Initial[sku] = units
	}
	items := make([]map[string]any, len(st.SKUs))
	for i, s := range st.SKUs {
		items[i] = map[string]any{"sku": s, "quantity": 1}
	}
	if err := retry(ctx, 60*time.Second, func() error {
		_, err := cl.Do(ctx, "pricing", http.MethodPost, "/api/v1/quote", map[string]any{"items": items, "country": "DE"}, nil)
		return err
	}); err != nil {
		return nil, fmt.Errorf("pricing never quoted the new products: %w", err)
	}
	return st, nil
}

// EventProbe creates a product and waits until pricing quotes it: an event
// went from the catalog's outbox through the bus to pricing's consumer. It
// returns when pricing first quoted it.
func (c *Cluster) EventProbe(ctx context.Context, limit time.Duration) (time.Time, error) {
	cl := c.Client()
	sku := "PROBE-" + strings.ToUpper(randomHex(4))
	if err := retry(ctx, limit, func() error {
		code, err := cl.Do(ctx, "catalog", http.MethodPost, "/api/v1/admin/products", map[string]any{
			"title": "Probe " + sku, "status": "active",
			"variants": []map[string]any{{"sku": sku, "price": map[string]any{"amount": 100, "currency": "EUR"}}},
		}, nil, "Idempotency-Key", "probe-"+sku)
		if code == http.StatusConflict {
			return nil
		}
		return err
	}); err != nil {
		return time.Time{}, err
	}
	err := retry(ctx, limit, func() error {
		_, err := cl.Do(ctx, "pricing", http.MethodPost, "/api/v1/quote", map[string]any{"items": []map[string]any{{"sku": sku, "quantity": 1}}, "country": "DE"}, nil)
		return err
	})
	return time.Now(), err
}

// Load drives guest checkouts at the order service (through the gateway
// when there is one) from a few workers, each with one checkout at a time.
// A checkout that gets no answer or a 5xx is retried with its
// Idempotency-Key, as a client following Retry-After would, a few times.
type Load struct {
	c     *Cluster
	stock *Stock
	http  *http.Client

	mu        sync.Mutex
	attempted int
	created   map[string]string // order ID → status in the 201 answer
	final     map[int]int       // status of a checkout's last attempt → checkouts
	attempts  map[int]int       // status of every attempt (0: no answer) → attempts
	retried   int
	lastOK    time.Time
}

// NewLoad returns a load selling stock.
func (c *Cluster) NewLoad(stock *Stock) *Load {
	return &Load{c: c, stock: stock, http: &http.Client{Timeout: 20 * time.Second},
		created: map[string]string{}, final: map[int]int{}, attempts: map[int]int{}}
}

// Run runs workers until ctx ends.
func (l *Load) Run(ctx context.Context, workers int) {
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(w)))
			for n := 0; ctx.Err() == nil; n++ {
				l.checkout(ctx, rng, fmt.Sprintf("%d-%d-%s", w, n, randomHex(4)))
			}
		})
	}
	wg.Wait()
}

func (l *Load) checkout(ctx context.Context, rng *rand.Rand, key string) {
	skus := l.stock.SKUs
	a, b := rng.IntN(len(skus)), rng.IntN(len(skus))
	lines := []map[string]any{{"sku": skus[a], "quantity": 1 + rng.IntN(2)}}
	if b != a {
		lines = append(lines, map[string]any{"sku": skus[b], "quantity": 1})
	}
	token := "tok_visa"
	if rng.IntN(10) == 0 {
		token = "tok_declined"
	}
	body, _ := json.Marshal(map[string]any{
		"items": lines, "email": "cluster-" + key + "@example.com",
		"shipping_address": map[string]string{"name": "Ada Lovelace", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
		"payment":          map[string]string{"provider": "fake", "token": token},
	})
	l.mu.Lock()
	l.attempted++
	l.mu.Unlock()
	// The attempts of a checkout run to the end even when the load stops:
	// a client does not give up on an order it may have placed.
	actx := context.WithoutCancel(ctx)
	status := 0
	for attempt := range 6 {
		if attempt > 0 {
			l.mu.Lock()
			l.retried++
			l.mu.Unlock()
			time.Sleep(500 * time.Millisecond)
		}
		req, _ := http.NewRequestWithContext(actx, http.MethodPost, l.c.URL("order")+"/api/v1/checkout", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "cluster-"+key)
		resp, err := l.http.Do(req)
		status = 0
		var raw []byte
		if err == nil {
			raw, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		}
		l.mu.Lock()
		l.attempts[status]++
		l.mu.Unlock()
		if status == http.StatusCreated {
			var o struct {
				ID     string `json:"id"`
				Status string `json:"status"`
			}
			_ = json.Unmarshal(raw, &o)
			l.mu.Lock()
			l.created[o.ID] = o.Status
			l.lastOK = time.Now()
			l.mu.Unlock()
			break
		}
		// 499 says the client went away, which this one did not: the
		// order may still be placed, so it is asked again, as a 5xx is.
		if status != 0 && status < 500 && status != 499 {
			break
		}
	}
	l.mu.Lock()
	l.final[status]++
	l.mu.Unlock()
}

// LastCreated returns when the latest 201 arrived.
func (l *Load) LastCreated() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK
}

// Created returns the orders that answered 201.
func (l *Load) Created() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]string, len(l.created))
	for k, v := range l.created {
		out[k] = v
	}
	return out
}

// Figures are the load's counts.
type Figures struct {
	Attempted int
	Created   int
	Retried   int
	// Final counts checkouts by the status of their last attempt; Attempts
	// every attempt by status (0: no answer).
	Final, Attempts map[int]int
}

// Figures returns the counts so far.
func (l *Load) Figures() Figures {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := Figures{Attempted: l.attempted, Created: len(l.created), Retried: l.retried, Final: map[int]int{}, Attempts: map[int]int{}}
	for k, v := range l.final {
		f.Final[k] = v
	}
	for k, v := range l.attempts {
		f.Attempts[k] = v
	}
	return f
}

// byCode formats counts by status, in order: "201×40 409×3".
func byCode(m map[int]int) string {
	codes := make([]int, 0, len(m))
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		name := fmt.Sprint(c)
		if c == 0 {
			name = "no-answer"
		}
		parts = append(parts, fmt.Sprintf("%s×%d", name, m[c]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}
