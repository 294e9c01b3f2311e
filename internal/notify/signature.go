package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Signing as the Standard Webhooks specification says
// (https://www.standardwebhooks.com): the secret is "whsec_" + base64 of a
// random key; each request carries webhook-id, webhook-timestamp (unix
// seconds) and webhook-signature, "v1," + base64 of HMAC-SHA256(key,
// id + "." + timestamp + "." + body). Existing verifier libraries accept
// these as they are.

// secretPrefix starts every signing secret.
const secretPrefix = "whsec_"

// secretBytes is the key length: 24 bytes, within the specification's 24 to
// 64.
const secretBytes = 24

// newSecret returns a new signing secret.
func newSecret() string {
	key := make([]byte, secretBytes)
	_, _ = rand.Read(key) // crypto/rand never fails (Go 1.24+)
	return secretPrefix + base64.StdEncoding.EncodeToString(key)
}

// errBadSecret is returned for a secret not of the whsec_ form.
var errBadSecret = errors.New("notify: signing secret is not whsec_ + base64")

// secretKey returns the HMAC key of a whsec_ secret.
func secretKey(secret string) ([]byte, error) {
	b64, ok := strings.CutPrefix(secret, secretPrefix)
	if !ok {
		return nil, errBadSecret
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, errBadSecret
	}
	return key, nil
}

// sign returns the webhook-signature header value of a message.
func sign(secret, id string, at time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
