package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Record sends t's request once and returns the response as received (the
// body's bytes exactly as on the wire), for a baseline to replay or for
// checking a target before loading it. A status of 400 or above is a
// response, not an error.
func Record(ctx context.Context, t Target, timeout time.Duration) (Response, error) {
	if err := CheckLoopback(t.URL); err != nil {
		return Response{}, err
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	method := t.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if len(t.Body) > 0 {
		body = bytes.NewReader(t.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.URL, body)
	if err != nil {
		return Response{}, fmt.Errorf("record %s: %w", t.Name, err)
	}
	for k, vs := range t.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	client := newClient(1, timeout)
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("record %s: %w", t.Name, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("record %s: read body: %w", t.Name, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// BareServer is a bare net/http server on a loopback port that answers
// every request with the same recorded response: the baseline showing what
// the network stack and net/http alone cost for those bytes.
type BareServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// StartBare serves resp on 127.0.0.1 on a free port until Close. The
// headers are resp's (with a fresh Date), so a client reads the same bytes
// it read from the recorded server, give or take the date.
func StartBare(resp Response) (*BareServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for the bare server: %w", err)
	}
	header := resp.Header.Clone()
	if header == nil {
		header = http.Header{}
	}
	header.Del("Date")
	status, body := resp.Status, resp.Body
	if status == 0 {
		status = http.StatusOK
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		wh := w.Header()
		for k, vs := range header {
			wh[k] = vs
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	})
	s := &BareServer{
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// URL is the server's base URL, without a trailing slash.
func (s *BareServer) URL() string { return "http://" + s.ln.Addr().String() }

// Close stops the server, waiting at most a few seconds for requests in
// flight.
func (s *BareServer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("stop the bare server: %w", err)
	}
	return nil
}
