package web

import (
	"regexp"
	"strings"
)

// DetailInvalid is the detail of a 422 whose errors say, field by field,
// what is wrong.
const DetailInvalid = "the request is invalid; see errors for each field"

// pkgPrefix matches the package prefix a Go error carries ("catalog: ",
// "payment: "), at the start of the text or of a wrapped part of it.
var pkgPrefix = regexp.MustCompile(`(^|: |; |\()(?:tenant|tenantapi|identity|identityapi|staff|catalog|catalogapi|inventory|inventoryapi|cart|cartapi|pricing|pricingapi|order|orderapi|payment|paymentapi|review|search|media|notify|invoice|analytics|gateway|sqldb|web|bus|outbox|money|auth|apiclient|session|text|json|strconv): `)

// Plain is the text of err written for the API's users: the package
// prefixes of Go errors are left out, what was wrong is kept. A service
// uses it where an error's own words are the right answer (a sentinel such
// as "cart: too many lines"); a problem's detail and messages pass through
// it again in Error, as a safety net.
func Plain(err error) string {
	if err == nil {
		return ""
	}
	return unprefixed(err.Error())
}

// unprefixed drops package prefixes from s; it runs until none is left, since
// removing one can bring the next to the front ("order: payment: ...").
func unprefixed(s string) string {
	for {
		t := pkgPrefix.ReplaceAllString(s, "$1")
		if t == s {
			return strings.TrimSpace(t)
		}
		s = t
	}
}
