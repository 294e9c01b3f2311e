package identity

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/mercato/mercato/internal/identity/identityapi"
)

// Argon2Params are the argon2id cost parameters of new password hashes.
// Hashes keep the parameters they were made with (in their PHC string), so
// changing these only affects new hashes and logins, which rehash.
type Argon2Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the parallelism.
	Threads uint8
}

// DefaultArgon2 costs about 90 ms per hash on a 2-core laptop (measured:
// m=64 MiB, t=2, p=2): slow enough to make offline guessing expensive,
// fast enough that a login stays well under a second under load.
var DefaultArgon2 = Argon2Params{Memory: 64 * 1024, Time: 2, Threads: 2}

const (
	argonSaltLen = 16
	argonKeyLen  = 32
)

// errBadHash means a stored hash is not an argon2id PHC string this code
// can verify: a bug or a corrupted row, never the user's fault.
var errBadHash = errors.New("identity: malformed password hash")

// hashPassword returns the argon2id PHC string of pw:
// $argon2id$v=19$m=65536,t=2,p=2$<salt>$<hash>, both base64 without padding.
func hashPassword(pw string, p Argon2Params) string {
	salt := make([]byte, argonSaltLen)
	_, _ = rand.Read(salt) // crypto/rand never fails since Go 1.24
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// phc is a parsed argon2id PHC string.
type phc struct {
	params Argon2Params
	salt   []byte
	key    []byte
}

func parsePHC(s string) (phc, error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return phc{}, errBadHash
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return phc{}, errBadHash
	}
	var h phc
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.params.Memory, &h.params.Time, &h.params.Threads); err != nil {
		return phc{}, errBadHash
	}
	if h.params.Memory == 0 || h.params.Time == 0 || h.params.Threads == 0 {
		return phc{}, errBadHash
	}
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) == 0 {
		return phc{}, errBadHash
	}
	if h.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.key) == 0 {
		return phc{}, errBadHash
	}
	return h, nil
}

// verifyPassword reports whether pw matches the PHC string hash, comparing
// in constant time, and whether the hash should be replaced because it was
// made with other parameters than p. A malformed hash is an error.
func verifyPassword(pw, hash string, p Argon2Params) (ok, rehash bool, err error) {
	h, err := parsePHC(hash)
	if err != nil {
		return false, false, err
	}
	key := argon2.IDKey([]byte(pw), h.salt, h.params.Time, h.params.Memory, h.params.Threads, uint32(len(h.key)))
	ok = subtle.ConstantTimeCompare(key, h.key) == 1
	return ok, ok && (h.params != p || len(h.key) != argonKeyLen), nil
}

//go:embed common_passwords.txt
var commonPasswordsFile []byte

// commonPasswords is the embedded list, lowercased, as a set.
type commonPasswords map[string]struct{}

func loadCommonPasswords() commonPasswords {
	set := commonPasswords{}
	sc := bufio.NewScanner(bytes.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
}

// common reports whether pw is on the list, ignoring case and a short
// suffix (up to 6) of digits and punctuation ("Password2024!" is
// "password").
func (c commonPasswords) common(pw string) bool {
	lower := strings.ToLower(pw)
	if _, ok := c[lower]; ok {
		return true
	}
	stem := strings.TrimRightFunc(lower, func(r rune) bool { return unicode.IsDigit(r) || unicode.IsPunct(r) || unicode.IsSymbol(r) })
	if stem != lower && len(lower)-len(stem) <= 6 && utf8.RuneCountInString(stem) >= 4 {
		if _, ok := c[stem]; ok {
			return true
		}
	}
	return false
}

// WeakPasswordError says why a new password was refused; Reason is one of
// identityapi.WeakTooShort, WeakTooLong, WeakTooCommon, WeakSameAsEmail.
type WeakPasswordError struct {
	Reason string
}

func (e *WeakPasswordError) Error() string { return "identity: password " + e.Message() }

// Message says what is wrong with the password, written for the API's
// users: the field message of the 422 that refuses it.
func (e *WeakPasswordError) Message() string {
	switch e.Reason {
	case identityapi.WeakTooShort:
		return fmt.Sprintf("has fewer than %d characters", identityapi.MinPasswordLength)
	case identityapi.WeakTooLong:
		return fmt.Sprintf("has more than %d characters", identityapi.MaxPasswordLength)
	case identityapi.WeakTooCommon:
		return "is too common"
	case identityapi.WeakSameAsEmail:
		return "is the email address"
	}
	return "is too weak"
}

// Is makes errors.Is(err, ErrWeakPassword) true.
func (e *WeakPasswordError) Is(target error) bool { return target == ErrWeakPassword }

// checkPassword applies the password policy to a new password for the
// account with the (normalised) email.
func (c commonPasswords) checkPassword(pw, email string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case n < identityapi.MinPasswordLength:
		return &WeakPasswordError{Reason: identityapi.WeakTooShort}
	case n > identityapi.MaxPasswordLength:
		return &WeakPasswordError{Reason: identityapi.WeakTooLong}
	case strings.EqualFold(strings.TrimSpace(pw), email):
		return &WeakPasswordError{Reason: identityapi.WeakSameAsEmail}
	case c.common(pw) || oneRune(pw):
		return &WeakPasswordError{Reason: identityapi.WeakTooCommon}
	}
	return nil
}

// oneRune reports whether s repeats a single character ("aaaaaaaaaaaa").
func oneRune(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return strings.Trim(s, string(r)) == ""
}
