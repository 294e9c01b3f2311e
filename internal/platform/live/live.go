// Package live streams events to browsers with Server-Sent Events. A Hub is
// one per process: it listens to the bus (bus.Listener, fan-out, nothing
// stored for it), keeps the last events of each tenant in a ring so a
// reconnecting browser resumes from its Last-Event-ID, and serves each
// stream with heartbeats. Which events a viewer gets, and what of them, is
// the page service's business (Filter): the hub only guarantees that a
// stream sees its own tenant's events and nothing else.
//
// Streams end when the browser goes, when it falls too far behind (it
// reconnects and resumes), and all at once when the hub closes, which the
// HTTP server's shutdown does first, so that draining never waits on them.
package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/bus"
	"github.com/mercato/mercato/internal/platform/outbox"
)

// Config configures a Hub.
type Config struct {
	// Heartbeat is how often an idle stream gets a comment line, so that
	// proxies keep it open and a gone browser is noticed.
	Heartbeat time.Duration
	// Buffer is how many recent events of each tenant are kept for
	// resuming.
	Buffer int
	// MaxConnections caps the streams this process serves at once; one
	// more is answered 503.
	MaxConnections int
	// ClientBuffer is how many events may wait for one slow stream before
	// it is dropped (the browser reconnects and resumes).
	ClientBuffer int
	// Retry is the reconnection delay suggested to browsers.
	Retry time.Duration
	// Idle is how long a tenant's events are still kept after its last
	// stream ended, for browsers to resume from; a tenant without streams
	// for longer keeps nothing, so memory follows the stores being
	// watched, not every store's traffic.
	Idle time.Duration
}

// Defaults.
const (
	DefaultHeartbeat      = 15 * time.Second
	DefaultBuffer         = 256
	DefaultMaxConnections = 10000
	DefaultClientBuffer   = 32
	DefaultRetry          = 2 * time.Second
	DefaultIdle           = 2 * time.Minute
)

// RegisterFlags registers the hub's flags, each name starting with prefix.
func (c *Config) RegisterFlags(fs *pflag.FlagSet, prefix string) {
	fs.DurationVar(&c.Heartbeat, prefix+"heartbeat", DefaultHeartbeat, "how often an idle live-update stream (Server-Sent Events) gets a heartbeat")
	fs.IntVar(&c.Buffer, prefix+"buffer", DefaultBuffer, "how many recent events per store are kept for live-update streams to resume from")
	fs.IntVar(&c.MaxConnections, prefix+"max-connections", DefaultMaxConnections, "how many live-update streams this process serves at once (more are answered 503)")
}

// Validate reports a config the hub cannot run with.
func (c *Config) Validate() error {
	d := c.withDefaults()
	if d.Heartbeat < 100*time.Millisecond || d.Heartbeat > 5*time.Minute {
		return fmt.Errorf("live: heartbeat %s is not between 100ms and 5m", d.Heartbeat)
	}
	if d.Buffer < 1 || d.Buffer > 100000 {
		return fmt.Errorf("live: buffer %d is not between 1 and 100000", d.Buffer)
	}
	if d.MaxConnections < 1 {
		return fmt.Errorf("live: max-connections %d is below 1", d.MaxConnections)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.ClientBuffer == 0 {
		c.ClientBuffer = DefaultClientBuffer
	}
	if c.Retry == 0 {
		c.Retry = DefaultRetry
	}
	if c.Idle == 0 {
		c.Idle = DefaultIdle
	}
	return c
}

// Event is one event of a tenant, as the hub keeps it.
type Event struct {
	// ID is the event's envelope ID (a UUIDv7): the SSE id, the same in
	// every process, so a browser resumes on another replica too.
	ID     string
	Tenant string
	// Type is the event type (bus subject), e.g. "order.shipped.v1".
	Type string
	// Ref is what the event is about, read once from its payload: its
	// order_id (or payment.order_id), else its id. Empty when it has none.
	Ref  string
	Time time.Time
	// Data is the event's payload as published.
	Data json.RawMessage
}

// Filter is what one stream receives of its tenant's events.
type Filter struct {
	// Types are the event types (bus patterns) of the stream.
	Types []string
	// Ref, when set, keeps only events about it (Event.Ref).
	Ref string
	// Render turns an event into the data sent to the browser (one JSON
	// line), or reports false to leave it out. It runs on the stream's
	// goroutine. Nil sends nothing but the event's ID, type and time.
	Render func(Event) ([]byte, bool)
}

func (f Filter) matches(e Event) bool {
	if f.Ref != "" && e.Ref != f.Ref {
		return false
	}
	for _, p := range f.Types {
		if bus.Match(p, e.Type) {
			return true
		}
	}
	return false
}

// ErrClosed is returned by Listen on a closed hub.
var ErrClosed = errors.New("live: hub closed")

// Hub fans events out to streams. It is safe for concurrent use.
type Hub struct {
	cfg Config
	log *slog.Logger

	conns atomic.Int64

	mu        sync.Mutex
	tenants   map[string]*tenantState
	listening map[string]bool
	listeners []bus.Consumer
	closed    bool
	done      chan struct{}
	swept     time.Time // when idle tenants were last let go
	now       func() time.Time
}

// tenantState is a tenant's ring of recent events and its streams. It
// exists while the tenant has streams, and for Config.Idle after.
type tenantState struct {
	idleSince time.Time // when the last stream ended; zero while there are streams
	ring      []*Event  // oldest first once full; next is where the next goes
	next      int
	full      bool
	subs      map[*subscriber]struct{}
}

// subscriber is one stream's mailbox.
type subscriber struct {
	filter Filter
	ch     chan *Event
	// dropped is closed when the stream fell behind.
	dropped chan struct{}
}

// New returns a hub; Listen feeds it from the bus, Add directly.
func New(cfg Config, log *slog.Logger) *Hub {
	return &Hub{cfg: cfg.withDefaults(), log: log, tenants: map[string]*tenantState{}, listening: map[string]bool{}, done: make(chan struct{}), now: time.Now}
}

// Listen makes the hub hear the event types patterns from l, those it does
// not hear yet. The listeners stop with Close.
func (h *Hub) Listen(ctx context.Context, l bus.Listener, patterns ...string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	var fresh []string
	for _, p := range patterns {
		if !h.listening[p] {
			fresh = append(fresh, p)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	c, err := l.Listen(context.WithoutCancel(ctx), fresh, h.heard)
	if err != nil {
		return fmt.Errorf("live: listen: %w", err)
	}
	for _, p := range fresh {
		h.listening[p] = true
	}
	h.listeners = append(h.listeners, c)
	return nil
}

// heard adds a bus message carrying an outbox envelope.
func (h *Hub) heard(m bus.Message) {
	var env outbox.Envelope
	if err := json.Unmarshal(m.Data, &env); err != nil || env.Tenant == "" {
		h.log.Debug("live: ignoring a message without an envelope", "subject", m.Subject, "event_id", m.ID)
		return
	}
	if env.ID == "" {
		env.ID = m.ID
	}
	if env.Type == "" {
		env.Type = m.Subject
	}
	h.Add(Event{ID: env.ID, Tenant: env.Tenant, Type: env.Type, Ref: ref(env.Data), Time: env.Time, Data: env.Data})
}

// ref reads what a payload is about.
func ref(data json.RawMessage) string {
	var p struct {
		ID      string `json:"id"`
		OrderID string `json:"order_id"`
		Payment struct {
			OrderID string `json:"order_id"`
		} `json:"payment"`
	}
	if json.Unmarshal(data, &p) != nil {
		return ""
	}
	switch {
	case p.OrderID != "":
		return p.OrderID
	case p.Payment.OrderID != "":
		return p.Payment.OrderID
	}
	return p.ID
}

// Add keeps e in its tenant's ring and hands it to the tenant's streams
// that want it; an event of a tenant without streams (for Config.Idle) is
// not kept. An event already in the ring (heard twice: the bus is at least
// once) is ignored. A stream whose mailbox is full is dropped, never waited
// for.
func (h *Hub) Add(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	now := h.now()
	if now.Sub(h.swept) > h.cfg.Idle {
		h.swept = now
		for id, t := range h.tenants {
			if h.idle(t, now) {
				delete(h.tenants, id)
			}
		}
	}
	t := h.tenants[e.Tenant]
	if t == nil {
		return
	}
	if h.idle(t, now) {
		delete(h.tenants, e.Tenant)
		return
	}
	if t.index(e.ID) >= 0 {
		return
	}
	// One copy, shared by the ring and every mailbox: a mailbox slot is a
	// pointer, not an event.
	ep := &e
	t.ring[t.next] = ep
	t.next = (t.next + 1) % len(t.ring)
	if t.next == 0 {
		t.full = true
	}
	for s := range t.subs {
		if !s.filter.matches(e) {
			continue
		}
		select {
		case s.ch <- ep:
		default:
			h.drop(t, s)
			close(s.dropped)
		}
	}
}

// idle reports whether t has had no stream for longer than Config.Idle.
func (h *Hub) idle(t *tenantState, now time.Time) bool {
	return len(t.subs) == 0 && now.Sub(t.idleSince) > h.cfg.Idle
}

// drop removes s from t's streams, noting when t became idle.
func (h *Hub) drop(t *tenantState, s *subscriber) {
	if _, ok := t.subs[s]; !ok {
		return
	}
	delete(t.subs, s)
	if len(t.subs) == 0 {
		t.idleSince = h.now()
	}
}

// events returns the ring's events, oldest first.
func (t *tenantState) events() []*Event {
	if !t.full {
		return t.ring[:t.next]
	}
	return append(append([]*Event(nil), t.ring[t.next:]...), t.ring[:t.next]...)
}

// index is the ring position of event id, or -1.
func (t *tenantState) index(id string) int {
	for i, e := range t.ring {
		if e != nil && e.ID == id && id != "" {
			return i
		}
	}
	return -1
}

// subscribe registers a stream of tenant and returns the events it missed
// after lastID (the browser's Last-Event-ID): reset is true when lastID is
// no longer in the ring, so the page must load afresh.
func (h *Hub) subscribe(tenant string, f Filter, lastID string) (s *subscriber, missed []*Event, reset bool, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, false, ErrClosed
	}
	t := h.tenants[tenant]
	if t == nil {
		t = &tenantState{ring: make([]*Event, h.cfg.Buffer), subs: map[*subscriber]struct{}{}}
		h.tenants[tenant] = t
	}
	if lastID != "" {
		evs := t.events()
		found := false
		for _, e := range evs {
			if found && f.matches(*e) {
				missed = append(missed, e)
			}
			if e.ID == lastID {
				found = true
			}
		}
		reset = !found
	}
	s = &subscriber{filter: f, ch: make(chan *Event, h.cfg.ClientBuffer), dropped: make(chan struct{})}
	t.subs[s] = struct{}{}
	return s, missed, reset, nil
}

func (h *Hub) unsubscribe(tenant string, s *subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t := h.tenants[tenant]; t != nil {
		h.drop(t, s)
	}
}

// Connections is how many streams are open.
func (h *Hub) Connections() int { return int(h.conns.Load()) }

// Close ends every stream and stops listening. Streams opened afterwards
// are refused (503).
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return
	}
	h.closed = true
	close(h.done)
	ls := h.listeners
	h.listeners = nil
	h.mu.Unlock()
	for _, c := range ls {
		c.Stop()
	}
}

// Serve streams tenant's events that f lets through to w until the browser
// goes, the stream falls behind or the hub closes. A Last-Event-ID header
// (or lastEventId query parameter) resumes after that event; an ID no
// longer kept is answered with a "reset" event first. The caller has
// checked that the viewer may see what f lets through.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, tenant string, f Filter) {
	if n := h.conns.Add(1); n > int64(h.cfg.MaxConnections) {
		h.conns.Add(-1)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "too many live-update streams on this server; try again shortly", http.StatusServiceUnavailable)
		return
	}
	defer h.conns.Add(-1)
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = r.URL.Query().Get("lastEventId")
	}
	s, missed, reset, err := h.subscribe(tenant, f, lastID)
	if err != nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	defer h.unsubscribe(tenant, s)

	rc := http.NewResponseController(w)
	// A stream outlives the server's read and write timeouts.
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	sw := &streamWriter{w: w, rc: rc}
	sw.printf("retry: %d\n\n", h.cfg.Retry.Milliseconds())
	if reset {
		sw.printf("event: reset\ndata: {}\n\n")
	}
	for _, e := range missed {
		sw.event(e, f)
	}
	if !sw.flush() {
		return
	}
	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case e := <-s.ch:
			sw.event(e, f)
			// Send what else is waiting in the same write.
			for more := true; more; {
				select {
				case e := <-s.ch:
					sw.event(e, f)
				default:
					more = false
				}
			}
		case <-beat.C:
			sw.printf(": ping\n\n")
		case <-s.dropped:
			return
		case <-h.done:
			return
		case <-r.Context().Done():
			return
		}
		if !sw.flush() {
			return
		}
	}
}

// streamWriter writes one SSE stream, remembering its first error.
type streamWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func (s *streamWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// event writes e as f renders it.
func (s *streamWriter) event(e *Event, f Filter) {
	var data []byte
	if f.Render != nil {
		d, ok := f.Render(*e)
		if !ok {
			return
		}
		data = d
	} else {
		data, _ = json.Marshal(map[string]string{"type": e.Type, "at": e.Time.UTC().Format(time.RFC3339Nano)})
	}
	// The event name is the type: a page listens for the types it knows.
	// Data is one line: JSON has no newline inside its strings, so one
	// between its tokens can go, and no newline ends the field early.
	s.printf("id: %s\nevent: %s\ndata: %s\n\n", e.ID, e.Type, bytes.ReplaceAll(data, []byte("\n"), nil))
}

func (s *streamWriter) flush() bool {
	if s.err == nil {
		s.err = s.rc.Flush()
	}
	return s.err == nil
}
