package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// verify checks a request as a receiver following the Standard Webhooks
// specification does, written from the specification and not from sign:
// the key is the base64 after "whsec_"; the signed content is
// id.timestamp.body; the header holds space-separated "v1,<base64>"
// signatures, any of which may match; the timestamp must be within
// tolerance of now.
func verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("missing headers")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return errors.New("timestamp out of tolerance")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Fields(sigs) {
		v, b64, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return errors.New("no matching signature")
}

// TestSignKnownAnswer: the example of the Standard Webhooks
// specification's reference libraries.
func TestSignKnownAnswer(t *testing.T) {
	got, err := sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("sign = %q, want %q", got, want)
	}
}

func TestSecret(t *testing.T) {
	s := newSecret()
	key, err := secretKey(s)
	if err != nil || len(key) != secretBytes || !strings.HasPrefix(s, "whsec_") {
		t.Fatalf("newSecret = %q (key %d bytes, %v)", s, len(key), err)
	}
	if newSecret() == s {
		t.Fatal("two secrets alike")
	}
	for _, bad := range []string{"", "whsec_", "whsec_!!", "sk_abc"} {
		if _, err := sign(bad, "id", time.Now(), nil); !errors.Is(err, errBadSecret) {
			t.Errorf("sign with secret %q: %v, want errBadSecret", bad, err)
		}
	}
}

// TestVerifyDetectsForgery: what sign makes, the independent verifier
// accepts; a changed body, id, timestamp, secret or signature it refuses.
func TestVerifyDetectsForgery(t *testing.T) {
	secret, now := newSecret(), time.Now()
	body := []byte(`{"type":"order.confirmed.v1","data":{"order_id":"o1"}}`)
	headers := func(id string, at time.Time, b []byte, secret string) http.Header {
		sig, err := sign(secret, id, at, b)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.FormatInt(at.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}
	if err := verify(secret, headers("msg1", now, body, secret), body, now, 5*time.Minute); err != nil {
		t.Fatalf("genuine message refused: %v", err)
	}
	tampered := headers("msg1", now, body, secret)
	tampered.Set("webhook-id", "msg2")
	oldTS := headers("msg1", now, body, secret)
	oldTS.Set("webhook-timestamp", strconv.FormatInt(now.Add(-time.Second).Unix(), 10))
	forged := headers("msg1", now, body, secret)
	forged.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(make([]byte, 32)))
	for name, c := range map[string]struct {
		h    http.Header
		body []byte
	}{
		"body changed":     {headers("msg1", now, body, secret), []byte(`{"type":"order.confirmed.v1","data":{"order_id":"o2"}}`)},
		"id changed":       {tampered, body},
		"timestamp moved":  {oldTS, body},
		"other secret":     {headers("msg1", now, body, newSecret()), body},
		"forged signature": {forged, body},
		"too old":          {headers("msg1", now.Add(-time.Hour), body, secret), body},
	} {
		if err := verify(secret, c.h, c.body, now, 5*time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBackoff(t *testing.T) {
	base, max := 30*time.Second, 2*time.Hour
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{1, 30 * time.Second}, {2, time.Minute}, {3, 2 * time.Minute}, {9, 2 * time.Hour}, {50, 2 * time.Hour}} {
		if got := backoff(c.n, base, max, 0.5); got != c.want {
			t.Errorf("backoff(%d) = %s, want %s", c.n, got, c.want)
		}
		lo, hi := backoff(c.n, base, max, 0), backoff(c.n, base, max, 0.999999)
		if lo != c.want*3/4 || hi < c.want*5/4-time.Second || hi > c.want*5/4 {
			t.Errorf("backoff(%d) jitter range [%s, %s], want ±25%% of %s", c.n, lo, hi, c.want)
		}
	}
	// The default schedule retries for about a day: count the attempts.
	var total time.Duration
	n := 1
	for ; total < DefaultRetryFor; n++ {
		total += backoff(n, DefaultRetryBase, DefaultRetryMax, 0.5)
	}
	if n < 10 || n > 25 {
		t.Errorf("a day of retries is %d attempts", n)
	}
}
