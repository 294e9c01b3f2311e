package csvio

import (
	"context"
	"errors"
	"strings"

	"github.com/mercato/mercato/internal/identity/identityapi"
)

// customerImporter creates or updates customer accounts by email through
// the identity service's staff import, which makes accounts without a
// password (docs/decisions/0030-csv-import-export.md).
type customerImporter struct {
	ids      Identity
	invite   bool
	hasPhone bool // whether the file has a phone column
}

func (*customerImporter) aliases() map[string]string {
	return map[string]string{
		"email": "email", "email_address": "email", "e_mail": "email",
		"name": "name", "full_name": "name", "first_name": "first_name", "last_name": "last_name",
		"phone": "phone", "phone_number": "phone", "mobile": "phone", "telephone": "phone",
	}
}

// allow: emails in the email column, phone numbers in the phone column.
func (*customerImporter) allow() map[string]Allowed {
	return map[string]Allowed{"email": {Email: true}, "phone": {Phone: true}}
}

func (c *customerImporter) check(src *source) error {
	if !src.has("email") || !(src.has("name") || src.has("first_name") || src.has("last_name")) {
		return errors.New("a customer file needs an email column and a name (or first_name and last_name) column")
	}
	c.hasPhone = src.has("phone")
	return nil
}

func (*customerImporter) key(row) string     { return "" }
func (*customerImporter) shard(r row) string { return strings.ToLower(r.get("email")) }
func (*customerImporter) skip(r row) bool    { return r.get("email") == "" && r.get("name") == "" }

func (c *customerImporter) apply(ctx context.Context, rec record, dry bool) (outcome, []Issue, error) {
	r := rec.rows[0]
	email, name, phone := r.get("email"), r.get("name"), r.get("phone")
	if name == "" {
		name = strings.TrimSpace(r.get("first_name") + " " + r.get("last_name"))
	}
	var issues []Issue
	switch {
	case email == "":
		issues = append(issues, Issue{r.n, "email", "", "an email address is required"})
	case strings.Contains(email, "***"):
		// A masked export read back must not make accounts for a***@….
		issues = append(issues, Issue{r.n, "email", email, "a masked email (from a masked export) is no address"})
	case !emailPattern.MatchString(email) || emailPattern.FindString(email) != email:
		issues = append(issues, Issue{r.n, "email", MaskEmail(email), "not one email address"})
	}
	if name == "" || len([]rune(name)) > 100 {
		issues = append(issues, Issue{r.n, "name", "", "a name of 1 to 100 characters is required"})
	}
	if strings.Contains(phone, "***") {
		issues = append(issues, Issue{r.n, "phone", phone, "a masked phone number (from a masked export)"})
	}
	if len(issues) > 0 {
		return refused, issues, nil
	}
	in := identityapi.CustomerImport{Email: email, Name: name, Invite: c.invite, DryRun: dry}
	if c.hasPhone {
		in.Phone = &phone // without a phone column, the account keeps its phone
	}
	out, err := c.ids.ImportCustomer(ctx, in)
	if err != nil {
		// The identity service's words about a field, never its value:
		// the value is personal data.
		is, err := refusal(err, r.n, func(loc string) string { return strings.TrimPrefix(loc, "body.") })
		return refused, is, err
	}
	switch out.Outcome {
	case "created":
		return created, nil, nil
	case "updated":
		return updated, nil, nil
	}
	return unchanged, nil, nil
}
