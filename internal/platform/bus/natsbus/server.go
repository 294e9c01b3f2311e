package natsbus

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is an in-process NATS server with JetStream on a file store. It is
// the laptop shape of the bus: the same Bus code talks to it through an
// in-process connection instead of TCP.
type Server struct {
	opts Options
	log  *slog.Logger

	mu sync.Mutex
	ns *server.Server // nil while stopped
}

// StartEmbedded starts an in-process NATS server with JetStream storing its
// files under opts.Dir. Every write is fsynced before it is acknowledged
// (SyncAlways), so a publish that returned survives a crash. With opts.Listen
// empty the server opens no TCP port and is reachable only in process.
func StartEmbedded(opts Options, log *slog.Logger) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("natsbus: embedded server needs a directory")
	}
	s := &Server{opts: opts, log: log}
	if err := s.start(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) start() error {
	sopts := &server.Options{
		ServerName: "mercato-embedded",
		JetStream:  true,
		StoreDir:   s.opts.Dir,
		SyncAlways: true,
		NoSigs:     true,
		DontListen: s.opts.Listen == "",
	}
	if s.opts.Listen != "" {
		host, port, err := net.SplitHostPort(s.opts.Listen)
		if err != nil {
			return fmt.Errorf("natsbus: parse listen address %q: %w", s.opts.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return fmt.Errorf("natsbus: parse listen port %q: %w", port, err)
		}
		sopts.Host, sopts.Port = host, p
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return fmt.Errorf("natsbus: configure embedded server: %w", err)
	}
	ns.SetLoggerV2(serverLogger{s.log}, false, false, false)
	ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return errors.New("natsbus: embedded server not ready after 30s")
	}
	s.mu.Lock()
	s.ns = ns
	s.mu.Unlock()
	s.log.Info("embedded nats started", "dir", s.opts.Dir, "listen", s.opts.Listen)
	return nil
}

// ClientURL returns the URL clients use: the TCP address when Listen is set,
// otherwise a placeholder that only works together with an in-process
// connection (ConnectEmbedded does both).
func (s *Server) ClientURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// InProcessConn returns a new in-process connection to the running server. It
// makes Server a nats.InProcessConnProvider: because it asks the current
// server each time, clients reconnect by themselves after Restart.
func (s *Server) InProcessConn() (net.Conn, error) {
	s.mu.Lock()
	ns := s.ns
	s.mu.Unlock()
	if ns == nil {
		return nil, errors.New("natsbus: embedded server is stopped")
	}
	return ns.InProcessConn()
}

// Shutdown stops the server and waits until it has stopped. Clients should be
// closed first.
func (s *Server) Shutdown() {
	s.mu.Lock()
	ns := s.ns
	s.ns = nil
	s.mu.Unlock()
	if ns == nil {
		return
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	s.log.Info("embedded nats stopped")
}

// Restart shuts the server down and starts it again on the same directory, as
// a process restart would. Clients made by ConnectEmbedded reconnect on their
// own. It exists for durability tests and for operators' drills.
func (s *Server) Restart() error {
	s.Shutdown()
	return s.start()
}

// serverLogger forwards the server's own log lines to slog. Notices are
// demoted to debug: the server is chatty at start and stop.
type serverLogger struct{ log *slog.Logger }

func (l serverLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats server notice", "detail", fmt.Sprintf(format, v...))
}
func (l serverLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats server warning", "detail", fmt.Sprintf(format, v...))
}
func (l serverLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats server fatal error", "detail", fmt.Sprintf(format, v...))
}
func (l serverLogger) Errorf(format string, v ...any) {
	l.log.Error("nats server error", "detail", fmt.Sprintf(format, v...))
}
func (l serverLogger) Debugf(format string, v ...any) {
	l.log.Debug("nats server debug", "detail", fmt.Sprintf(format, v...))
}
func (l serverLogger) Tracef(string, ...any) {}
