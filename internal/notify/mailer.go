package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/wneessen/go-mail"

	"github.com/mercato/mercato/internal/platform/bus"
)

// MailConfig is the email half of Config.
type MailConfig struct {
	// SMTPURL is where emails are sent:
	// smtp://[user:password@]host[:port][?starttls=required|opportunistic|none]
	// (port 25 by default, STARTTLS when offered) or smtps://… (TLS from
	// the start, port 465). Empty: no email leaves the server; each is
	// kept in the notify database and shown in the admin (the laptop).
	SMTPURL string
	// From is the sender address, "Name <addr>" or "addr"; the display
	// name is replaced by the store's name.
	From string
	// ShopURL is a store's public address, {host} standing for the
	// store's host (shopHost): the links of emails start with it.
	ShopURL string
	// Timeout bounds one SMTP attempt, connection to QUIT.
	Timeout time.Duration
	// RetryBase, RetryMax and RetryFor are the retries of a transient
	// failure: RetryBase doubled per failure up to RetryMax, ±25%, for
	// RetryFor; then the email fails.
	RetryBase, RetryMax, RetryFor time.Duration
	// Workers is how many emails are sent at once.
	Workers int
	// Keep is how long a finished email (sent, kept, failed) is kept
	// after its last change.
	Keep time.Duration
}

// Defaults of MailConfig.
const (
	DefaultMailFrom      = "Mercato <no-reply@localhost>"
	DefaultShopURL       = "http://{host}:8080"
	DefaultMailTimeout   = 30 * time.Second
	DefaultMailRetryBase = 30 * time.Second
	DefaultMailRetryMax  = time.Hour
	DefaultMailRetryFor  = 24 * time.Hour
	DefaultMailWorkers   = 2
	DefaultMailKeep      = 30 * 24 * time.Hour
)

func (c *MailConfig) registerFlags(fs *pflag.FlagSet, prefix string) {
	fs.StringVar(&c.SMTPURL, prefix+"smtp-url", "", "SMTP server emails are sent through, smtp://user:pass@host:587 or smtps://…:465 (?starttls=required|opportunistic|none); empty: emails are kept in the notify database and shown in the admin")
	fs.StringVar(&c.From, prefix+"mail-from", DefaultMailFrom, "sender address of emails (the display name becomes the store's name)")
	fs.StringVar(&c.ShopURL, prefix+"shop-url", DefaultShopURL, "a store's public address in email links, {host} standing for the store's host")
	fs.DurationVar(&c.Timeout, prefix+"mail-timeout", DefaultMailTimeout, "time limit of one SMTP attempt")
	fs.DurationVar(&c.RetryBase, prefix+"mail-retry-base", DefaultMailRetryBase, "wait after an email's first transient failure, doubled after each further one")
	fs.DurationVar(&c.RetryMax, prefix+"mail-retry-max", DefaultMailRetryMax, "longest wait between two attempts of an email")
	fs.DurationVar(&c.RetryFor, prefix+"mail-retry-for", DefaultMailRetryFor, "how long an email is retried before it fails")
	fs.IntVar(&c.Workers, prefix+"mail-workers", DefaultMailWorkers, "emails sent at once")
	fs.DurationVar(&c.Keep, prefix+"mail-keep", DefaultMailKeep, "how long a sent, kept or failed email is kept")
}

func (c *MailConfig) validate() error {
	if err := checkDurations(c.durations()); err != nil {
		return err
	}
	if err := checkRetries("mail", c.RetryBase, c.RetryMax, c.Workers); err != nil {
		return err
	}
	if c.From != "" {
		if _, err := netmail.ParseAddress(c.From); err != nil {
			return fmt.Errorf("notify: mail-from %q is not an email address", c.From)
		}
	}
	if c.ShopURL != "" {
		u, err := url.Parse(strings.ReplaceAll(c.ShopURL, "{host}", "shop.example"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("notify: shop-url %q is not an http(s) URL", c.ShopURL)
		}
	}
	if c.SMTPURL != "" {
		if _, err := parseSMTP(c.SMTPURL); err != nil {
			return err
		}
	}
	return nil
}

func (c MailConfig) withDefaults() MailConfig {
	defaultDurations(c.durations())
	if c.Workers == 0 {
		c.Workers = DefaultMailWorkers
	}
	if c.From == "" {
		c.From = DefaultMailFrom
	}
	if c.ShopURL == "" {
		c.ShopURL = DefaultShopURL
	}
	return c
}

// durations are the emails' duration settings.
func (c *MailConfig) durations() []duration {
	return []duration{{"mail-timeout", &c.Timeout, DefaultMailTimeout}, {"mail-retry-base", &c.RetryBase, DefaultMailRetryBase},
		{"mail-retry-max", &c.RetryMax, DefaultMailRetryMax}, {"mail-retry-for", &c.RetryFor, DefaultMailRetryFor},
		{"mail-keep", &c.Keep, DefaultMailKeep}}
}

// address is the sender's address, without its display name.
func (c MailConfig) address() string {
	a, err := netmail.ParseAddress(c.From)
	if err != nil {
		return "no-reply@localhost"
	}
	return a.Address
}

// domain is the sender address's domain: the right side of Message-IDs.
func (c MailConfig) domain() string {
	_, d, _ := strings.Cut(c.address(), "@")
	if d == "" {
		return "localhost"
	}
	return d
}

// smtpServer is a parsed -notify.smtp-url.
type smtpServer struct {
	host string
	opts []mail.Option
}

// parseSMTP parses an smtp:// or smtps:// URL into go-mail's options.
func parseSMTP(raw string) (smtpServer, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// Not url.Parse's error: it quotes the URL, password included.
		return smtpServer{}, errors.New("notify: smtp-url is not a URL")
	}
	var srv smtpServer
	srv.host = u.Hostname()
	if srv.host == "" {
		return smtpServer{}, errors.New("notify: smtp-url has no host")
	}
	port := 25
	switch u.Scheme {
	case "smtp":
		policy := mail.TLSOpportunistic
		switch u.Query().Get("starttls") {
		case "", "opportunistic":
		case "required":
			policy = mail.TLSMandatory
		case "none":
			policy = mail.NoTLS
		default:
			return smtpServer{}, fmt.Errorf("notify: smtp-url starttls %q is not required, opportunistic or none", u.Query().Get("starttls"))
		}
		srv.opts = append(srv.opts, mail.WithTLSPolicy(policy))
	case "smtps":
		port = 465
		srv.opts = append(srv.opts, mail.WithSSL())
	default:
		return smtpServer{}, fmt.Errorf("notify: smtp-url scheme %q is not smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
			return smtpServer{}, fmt.Errorf("notify: smtp-url port %q is not a port", p)
		}
	}
	srv.opts = append(srv.opts, mail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		srv.opts = append(srv.opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	return srv, nil
}

// outgoing is one email as the SMTP server is handed it.
type outgoing struct {
	fromName, from, to  string
	subject, text, html string
	messageID           string
	date                time.Time
	attachments         []attachment
}

// attachment is a file an email carries.
type attachment struct {
	name, contentType string
	body              []byte
}

// send hands m to the SMTP server, once. The answer to the message's data
// decides: once the server accepted it, a failure to close the connection
// does not make it unsent.
func (srv smtpServer) send(ctx context.Context, timeout time.Duration, m outgoing) error {
	msg := mail.NewMsg()
	if err := msg.FromFormat(m.fromName, m.from); err != nil {
		return bus.Permanent(fmt.Errorf("sender %q: %w", m.from, err))
	}
	if err := msg.To(m.to); err != nil {
		return bus.Permanent(fmt.Errorf("recipient: %w", err))
	}
	msg.Subject(m.subject)
	msg.SetMessageIDWithValue(m.messageID)
	msg.SetDateWithValue(m.date)
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.text)
	msg.AddAlternativeString(mail.TypeTextHTML, m.html)
	for _, a := range m.attachments {
		if err := msg.AttachReader(a.name, bytes.NewReader(a.body), mail.WithFileContentType(mail.ContentType(a.contentType))); err != nil {
			return bus.Permanent(fmt.Errorf("attach %s: %w", a.name, err))
		}
	}

	opts := append([]mail.Option{mail.WithTimeout(timeout)}, srv.opts...)
	c, err := mail.NewClient(srv.host, opts...)
	if err != nil {
		return bus.Permanent(fmt.Errorf("smtp client: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := c.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return fmt.Errorf("connect: %s", smtpError(err))
	}
	err = c.SendWithSMTPClient(conn, msg)
	_ = c.CloseWithSMTPClient(conn) // accepted is accepted, QUIT or not
	if err == nil {
		return nil
	}
	var se *mail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
		return bus.Permanent(errors.New(smtpError(err)))
	}
	return errors.New(smtpError(err))
}

// smtpError is what the email's record says of a failure: the server's
// answer, without the platform's own addresses.
func smtpError(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	return err.Error()
}
