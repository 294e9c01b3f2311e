package identity

import (
	"errors"
	"strings"
	"testing"

	"github.com/mercato/mercato/internal/identity/identityapi"
)

var cheap = Argon2Params{Memory: 256, Time: 1, Threads: 1}

func TestHashVerifyRehash(t *testing.T) {
	h := hashPassword("a long enough secret", cheap)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=256,t=1,p=1$") {
		t.Fatalf("PHC string = %q", h)
	}
	if h2 := hashPassword("a long enough secret", cheap); h2 == h {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	tests := []struct {
		name       string
		pw         string
		params     Argon2Params
		ok, rehash bool
	}{
		{"right password", "a long enough secret", cheap, true, false},
		{"wrong password", "a long enough secreT", cheap, false, false},
		{"params changed", "a long enough secret", Argon2Params{Memory: 512, Time: 1, Threads: 1}, true, true},
		{"wrong password, params changed", "nope", Argon2Params{Memory: 512, Time: 2, Threads: 1}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := verifyPassword(tt.pw, h, tt.params)
			if err != nil || ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("verify = %v, %v, %v; want %v, %v", ok, rehash, err, tt.ok, tt.rehash)
			}
		})
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=256,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=18$m=256,t=1,p=1$c2FsdA$a2V5",
		"$argon2id$v=19$m=0,t=1,p=1$c2FsdA$a2V5", "$argon2id$v=19$m=256,t=1,p=1$!!$a2V5", "plain"} {
		if _, _, err := verifyPassword("x", bad, cheap); !errors.Is(err, errBadHash) {
			t.Errorf("verify against %q: err = %v, want errBadHash", bad, err)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	c := loadCommonPasswords()
	if len(c) < 400 {
		t.Fatalf("common list has %d entries", len(c))
	}
	tests := []struct {
		pw, email, reason string
	}{
		{"short", "a@example.com", identityapi.WeakTooShort},
		{"ninechars", "a@example.com", identityapi.WeakTooShort},
		{strings.Repeat("x", 129), "a@example.com", identityapi.WeakTooLong},
		{"password123", "a@example.com", identityapi.WeakTooCommon},
		{"Password123", "a@example.com", identityapi.WeakTooCommon},
		{"qwertyuiop", "a@example.com", identityapi.WeakTooCommon},
		{"Password2024!", "a@example.com", identityapi.WeakTooCommon},
		{"1234567890", "a@example.com", identityapi.WeakTooCommon},
		{"zzzzzzzzzzzz", "a@example.com", identityapi.WeakTooCommon},
		{"Ada@Example.com", "ada@example.com", identityapi.WeakSameAsEmail},
		{"correct horse battery", "a@example.com", ""},
		{"tr0ub4dor&3-x", "a@example.com", ""},
		{"日本語のパスワードです", "a@example.com", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pw, func(t *testing.T) {
			err := c.checkPassword(tt.pw, tt.email)
			var we *WeakPasswordError
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("err = %v, want nil", err)
			case tt.reason != "" && (!errors.As(err, &we) || we.Reason != tt.reason || !errors.Is(err, ErrWeakPassword)):
				t.Fatalf("err = %v, want weak password %s", err, tt.reason)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ada@Example.COM", "ada@example.com"},
		{"  ada@example.com ", "ada@example.com"},
		{"ada", ""},
		{"ada@localhost", ""},
		{"Ada <ada@example.com>", ""},
		{"ada@example.com'; DROP TABLE customers;--", ""},
		{"<script>@example.com", ""},
		{strings.Repeat("a", 250) + "@example.com", ""},
	}
	for _, tt := range tests {
		got, err := normalizeEmail("email", tt.in)
		if got != tt.want || (tt.want == "") != errors.Is(err, ErrInvalidEmail) {
			t.Errorf("normalizeEmail(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
