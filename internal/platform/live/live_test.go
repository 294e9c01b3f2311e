package live

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/bus"
)

// sseEvent is one event read from a stream.
type sseEvent struct{ ID, Name, Data string }

// stream is an open SSE response.
type stream struct {
	resp   *http.Response
	events chan sseEvent
	pings  chan struct{}
	ended  chan struct{}
}

// open opens a stream of tenant with the given Last-Event-ID.
func open(t *testing.T, url, tenant, lastID string) *stream {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"?tenant="+tenant, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &stream{resp: resp, events: make(chan sseEvent, 100), pings: make(chan struct{}, 100), ended: make(chan struct{})}
	if resp.StatusCode != http.StatusOK {
		close(s.ended)
		return s
	}
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Name != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case line == ": ping":
				s.pings <- struct{}{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Name = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return s
}

func (s *stream) next(t *testing.T) sseEvent {
	t.Helper()
	select {
	case e := <-s.events:
		return e
	case <-s.ended:
		t.Fatal("stream ended")
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sseEvent{}
}

// none checks that no event arrives for a moment.
func (s *stream) none(t *testing.T) {
	t.Helper()
	select {
	case e := <-s.events:
		t.Fatalf("unexpected event %+v", e)
	case <-time.After(100 * time.Millisecond):
	}
}

// serve runs a hub behind an HTTP server whose streams take their tenant
// from ?tenant= and get every order event.
func serve(t *testing.T, cfg Config) (*Hub, string) {
	t.Helper()
	h := New(cfg, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, r.URL.Query().Get("tenant"), Filter{Types: []string{"order.>"}})
	}))
	srv.Config.RegisterOnShutdown(h.Close)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, srv.URL
}

func ev(tenant string, n int) Event {
	return Event{ID: fmt.Sprintf("%s-%d", tenant, n), Tenant: tenant, Type: "order.shipped.v1", Time: time.Now()}
}

// waitConns waits until n streams are registered.
func waitConns(t *testing.T, h *Hub, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		h.mu.Lock()
		got := 0
		for _, ts := range h.tenants {
			got += len(ts.subs)
		}
		h.mu.Unlock()
		if got == n {
			return
		}
	}
	t.Fatalf("streams never reached %d", n)
}

func TestTenantScoping(t *testing.T) {
	h, url := serve(t, Config{})
	a, b := open(t, url, "a", ""), open(t, url, "b", "")
	waitConns(t, h, 2)
	h.Add(ev("b", 1))
	h.Add(ev("a", 1))
	h.Add(Event{ID: "a-cart", Tenant: "a", Type: "cart.checked_out.v1"})
	if got := a.next(t); got.ID != "a-1" || got.Name != "order.shipped.v1" {
		t.Errorf("a got %+v, want a-1", got)
	}
	a.none(t)
	if got := b.next(t); got.ID != "b-1" {
		t.Errorf("b got %+v, want b-1", got)
	}
	b.none(t)
}

func TestRefAndRender(t *testing.T) {
	h := New(Config{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, "a", Filter{Types: []string{"order.>", "payment.>"}, Ref: "o1", Render: func(e Event) ([]byte, bool) {
			return []byte("{\n\"ref\": \"" + e.Ref + "\"}"), e.Type != "order.cancelled.v1"
		}})
	}))
	defer srv.Close()
	defer h.Close()
	s := open(t, srv.URL, "a", "")
	waitConns(t, h, 1)
	for _, body := range []string{
		`{"tenant":"a","id":"e1","type":"order.shipped.v1","data":{"id":"o2"}}`,
		`{"tenant":"a","id":"e2","type":"order.cancelled.v1","data":{"id":"o1"}}`,
		`{"tenant":"a","id":"e3","type":"payment.captured.v1","data":{"payment":{"id":"p","order_id":"o1"}}}`,
		`{"tenant":"a","id":"e4","type":"order.shipped.v1","data":{"id":"o1"}}`,
	} {
		h.heard(busMessage(body))
	}
	for _, want := range []string{"e3", "e4"} {
		got := s.next(t)
		if got.ID != want || got.Data != `{"ref": "o1"}` {
			t.Errorf("got %+v, want %s with the rendered data on one line", got, want)
		}
	}
	s.none(t)
}

func TestResume(t *testing.T) {
	h, url := serve(t, Config{})
	open(t, url, "a", "") // the store is watched: its events are kept
	waitConns(t, h, 1)
	for i := 1; i <= 3; i++ {
		h.Add(ev("a", i))
	}
	h.Add(ev("a", 2)) // heard twice: kept once
	s := open(t, url, "a", "a-1")
	for _, want := range []string{"a-2", "a-3"} {
		if got := s.next(t); got.ID != want {
			t.Fatalf("got %+v, want %s", got, want)
		}
	}
	waitConns(t, h, 2)
	h.Add(ev("a", 4))
	if got := s.next(t); got.ID != "a-4" {
		t.Fatalf("got %+v, want a-4", got)
	}
	s.none(t)
}

func TestResumeTooOldResets(t *testing.T) {
	h, url := serve(t, Config{Buffer: 2})
	open(t, url, "a", "")
	waitConns(t, h, 1)
	for i := 1; i <= 4; i++ {
		h.Add(ev("a", i))
	}
	s := open(t, url, "a", "a-1")
	if got := s.next(t); got.Name != "reset" {
		t.Fatalf("got %+v, want a reset", got)
	}
	s.none(t)
	// From the start: no reset, nothing old.
	fresh := open(t, url, "a", "")
	fresh.none(t)
}

func TestSlowStreamDropped(t *testing.T) {
	h := New(Config{ClientBuffer: 2}, slog.New(slog.DiscardHandler))
	defer h.Close()
	slow, _, _, err := h.subscribe("a", Filter{Types: []string{">"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	fast, _, _, _ := h.subscribe("a", Filter{Types: []string{">"}}, "")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 10; i++ {
			h.Add(ev("a", i))
			<-fast.ch
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the hub waited for a slow stream")
	}
	select {
	case <-slow.dropped:
	default:
		t.Fatal("the slow stream was not dropped")
	}
	select {
	case <-fast.dropped:
		t.Fatal("the fast stream was dropped")
	default:
	}
}

func TestCloseEndsStreams(t *testing.T) {
	h := New(Config{}, slog.New(slog.DiscardHandler))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.Serve(w, r, "a", Filter{Types: []string{">"}})
	}))
	srv.Config.RegisterOnShutdown(h.Close)
	srv.Start()
	defer srv.Close()
	streams := []*stream{open(t, srv.URL, "a", ""), open(t, srv.URL, "a", "")}
	waitConns(t, h, 2)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with open streams: %v", err)
	}
	for _, s := range streams {
		select {
		case <-s.ended:
		case <-time.After(5 * time.Second):
			t.Fatal("a stream outlived the shutdown")
		}
	}
	if n := h.Connections(); n != 0 {
		t.Errorf("%d connections after close", n)
	}
}

func TestConnectionCap(t *testing.T) {
	h, url := serve(t, Config{MaxConnections: 1})
	open(t, url, "a", "")
	waitConns(t, h, 1)
	second := open(t, url, "a", "")
	if second.resp.StatusCode != http.StatusServiceUnavailable || second.resp.Header.Get("Retry-After") == "" {
		t.Errorf("second stream: %d, want 503 with Retry-After", second.resp.StatusCode)
	}
}

func TestHeartbeat(t *testing.T) {
	_, url := serve(t, Config{Heartbeat: 50 * time.Millisecond})
	s := open(t, url, "a", "")
	for range 2 {
		select {
		case <-s.pings:
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{Heartbeat: time.Millisecond}, {Buffer: -1}, {MaxConnections: -1}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: valid, want an error", c)
		}
	}
	if err := (&Config{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func busMessage(body string) (m bus.Message) {
	var env struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal([]byte(body), &env)
	m.ID, m.Data = env.ID, []byte(body)
	return m
}

// TestUnwatchedTenantsKeepNothing: events of a store nobody watches are not
// kept; a store's events are kept for Idle after its last stream ended,
// then let go, so a late resume gets a reset.
func TestUnwatchedTenantsKeepNothing(t *testing.T) {
	h := New(Config{Idle: time.Minute}, slog.New(slog.DiscardHandler))
	defer h.Close()
	now := time.Now()
	h.now = func() time.Time { return now }
	h.Add(ev("nobody", 1))
	if _, ok := h.tenants["nobody"]; ok {
		t.Error("an unwatched store's event was kept")
	}
	s, _, _, _ := h.subscribe("a", Filter{Types: []string{">"}}, "")
	h.unsubscribe("a", s)
	now = now.Add(30 * time.Second)
	h.Add(ev("a", 1))
	if _, missed, reset, _ := h.subscribe("a", Filter{Types: []string{">"}}, "a-0"); !reset || len(missed) != 0 {
		t.Errorf("resume from an unknown ID: reset %v, missed %d", reset, len(missed))
	}
	s2, _, _, _ := h.subscribe("b", Filter{Types: []string{">"}}, "")
	h.unsubscribe("b", s2)
	h.Add(ev("b", 1))
	h.Add(ev("b", 2))
	if _, missed, reset, _ := h.subscribe("b", Filter{Types: []string{">"}}, "b-1"); reset || len(missed) != 1 {
		t.Errorf("resume within Idle: reset %v, missed %d, want the one event", reset, len(missed))
	}
	h.mu.Lock()
	for _, ts := range h.tenants {
		clear(ts.subs)
		ts.idleSince = now
	}
	h.mu.Unlock()
	now = now.Add(2 * time.Minute)
	h.Add(ev("b", 3))
	h.mu.Lock()
	n := len(h.tenants)
	h.mu.Unlock()
	if n != 0 {
		t.Errorf("%d stores kept after Idle without streams, want none", n)
	}
}
