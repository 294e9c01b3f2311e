package identityapi

import "testing"

// TestDecodeEmailVerified: the one reading of the verification event its
// consumers share: other types skipped, bad data refused, the email keyed.
func TestDecodeEmailVerified(t *testing.T) {
	v, email, ok, err := DecodeEmailVerified(SubjectCustomerEmailVerified, []byte(`{"customer_id":"c1","email":" Ada@Example.COM "}`))
	if !ok || err != nil || v.CustomerID != "c1" || email != "ada@example.com" {
		t.Errorf("good event: %+v %q %v %v", v, email, ok, err)
	}
	if _, _, ok, err := DecodeEmailVerified(SubjectCustomerRegistered, []byte(`not json`)); ok || err != nil {
		t.Errorf("another type: %v %v, want skipped", ok, err)
	}
	for _, data := range []string{`not json`, `{"customer_id":"c1","email":"  "}`, `{"customer_id":" ","email":"a@b.example"}`} {
		if _, _, ok, err := DecodeEmailVerified(SubjectCustomerEmailVerified, []byte(data)); !ok || err == nil {
			t.Errorf("%s: %v %v, want refused", data, ok, err)
		}
	}
}
