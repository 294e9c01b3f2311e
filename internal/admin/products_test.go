package admin

import (
	"errors"
	"net/url"
	"testing"

	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/page"
)

// TestReadProductForm: the product form becomes the catalog's body, blank
// and removed rows left out, and the catalog's error locations land on the
// rows they are about.
func TestReadProductForm(t *testing.T) {
	f := page.EmptyForm(url.Values{
		"rows": {"4"}, "options": {"2"}, "title": {" Mug "}, "category": {"cat-1"},
		"opt1":   {"Size"}, // the second column named, the first not
		"v0.sku": {"MUG-S"}, "v0.price": {"12,5"}, "v0.o1": {"Small"},
		"v1.sku": {"MUG-M"}, "v1.price": {"13"}, "v1.o1": {"Medium"}, "v1.remove": {"1"},
		// v2 blank
		"v3.sku": {"MUG-L"}, "v3.price": {"14.00"}, "v3.o1": {"Large"},
	})
	in := readProductForm(f, "EUR")
	if f.Invalid() {
		t.Fatalf("marked: %v %q", f.Errors, f.Message)
	}
	if in.title != "Mug" || in.category != "cat-1" || len(in.variants) != 2 {
		t.Fatalf("read %+v", in)
	}
	if v := in.variants[0]; v.SKU != "MUG-S" || v.Price.Amount != 1250 || v.Price.Currency != "EUR" || v.Options["Size"] != "Small" {
		t.Errorf("first variant %+v", v)
	}
	if v := in.variants[1]; v.SKU != "MUG-L" || v.Price.Amount != 1400 {
		t.Errorf("second variant %+v", v)
	}
	if len(in.options) != 1 || in.options[0].Name != "Size" || len(in.options[0].Values) != 2 {
		t.Errorf("options %+v", in.options)
	}

	// The catalog refuses the second variant sent (row 3) and the option.
	err := &apiclient.Error{Status: 422, Code: "invalid", Detail: "validation failed", Errors: []apiclient.FieldError{
		{Location: "body.variants[1].sku", Message: "SKU is used by another product"},
		{Location: "body.variants[0].price.amount", Message: "too much"},
		{Location: "body.options[0].values[1]", Message: "must be unique"},
		{Location: "body.category_id", Message: "no such category"},
	}}
	if refused(f, errors.New("catalog down"), nil) {
		t.Fatal("an outage was taken as a refusal")
	}
	if !refused(f, err, in.fields) {
		t.Fatal("a 422 was not taken as a refusal")
	}
	want := map[string]string{"v3.sku": "SKU is used by another product", "v0.price": "too much", "opt1": "must be unique", "category": "no such category"}
	for name, msg := range want {
		if f.Error(name) != msg {
			t.Errorf("field %s: %q, want %q (all: %v)", name, f.Error(name), msg, f.Errors)
		}
	}
	if f.Message != "" {
		t.Errorf("the form's message %q hides the fields'", f.Message)
	}
}

func TestReadProductFormMarks(t *testing.T) {
	for _, tt := range []struct {
		name   string
		values url.Values
		field  string
	}{
		{"too many decimals", url.Values{"title": {"Mug"}, "v0.sku": {"M"}, "v0.price": {"12.345"}}, "v0.price"},
		{"not a number", url.Values{"title": {"Mug"}, "v0.sku": {"M"}, "v0.price": {"twelve"}}, "v0.price"},
		{"no price", url.Values{"title": {"Mug"}, "v0.sku": {"M"}}, "v0.price"},
		{"no SKU", url.Values{"title": {"Mug"}, "v1.price": {"3"}}, "v1.sku"},
		{"no variant", url.Values{"title": {"Mug"}}, "v0.sku"},
		{"no title", url.Values{"v0.sku": {"M"}, "v0.price": {"1"}}, "title"},
		{"a value of an unnamed option", url.Values{"title": {"Mug"}, "v0.sku": {"M"}, "v0.price": {"1"}, "v0.o0": {"Red"}}, "opt0"},
		{"an option no variant has", url.Values{"title": {"Mug"}, "opt1": {"Colour"}, "v0.sku": {"M"}, "v0.price": {"1"}}, "opt1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := page.EmptyForm(tt.values)
			readProductForm(f, "EUR")
			if f.Error(tt.field) == "" {
				t.Errorf("%s not marked: %v", tt.field, f.Errors)
			}
		})
	}
}
