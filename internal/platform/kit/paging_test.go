package kit_test

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/mercato/mercato/internal/platform/kit"
)

func TestPagingWithDefaults(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want kit.Paging
	}{
		{kit.Paging{}, kit.Paging{PageSize: 20, MaxPageSize: 100}},
		{kit.Paging{PageSize: 50}, kit.Paging{PageSize: 50, MaxPageSize: 100}},
		{kit.Paging{PageSize: 300}, kit.Paging{PageSize: 300, MaxPageSize: 300}},
		{kit.Paging{MaxPageSize: 10}, kit.Paging{PageSize: 20, MaxPageSize: 10}},
		{kit.Paging{PageSize: 5, MaxPageSize: 7}, kit.Paging{PageSize: 5, MaxPageSize: 7}},
		{kit.Paging{PageSize: -1}, kit.Paging{PageSize: -1, MaxPageSize: 100}},
	} {
		if got := tt.in.WithDefaults(20, 100); got != tt.want {
			t.Errorf("%+v.WithDefaults(20, 100) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestPagingValidate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		p       kit.Paging
		ceiling int
		ok      bool
	}{
		{kit.Paging{PageSize: 20, MaxPageSize: 100}, kit.PageCeiling, true},
		{kit.Paging{PageSize: 1, MaxPageSize: 1}, kit.PageCeiling, true},
		{kit.Paging{PageSize: 1000, MaxPageSize: 1000}, kit.PageCeiling, true},
		{kit.Paging{PageSize: 0, MaxPageSize: 100}, kit.PageCeiling, false},
		{kit.Paging{PageSize: -1, MaxPageSize: 100}, kit.PageCeiling, false},
		{kit.Paging{PageSize: 20, MaxPageSize: 0}, kit.PageCeiling, false},
		{kit.Paging{PageSize: 101, MaxPageSize: 100}, kit.PageCeiling, false},
		{kit.Paging{PageSize: 20, MaxPageSize: 1001}, kit.PageCeiling, false},
		{kit.Paging{PageSize: 20, MaxPageSize: 5000}, 10000, true},
		{kit.Paging{PageSize: 20, MaxPageSize: 10001}, 10000, false},
	} {
		err := tt.p.Validate("svc", tt.ceiling)
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Validate(svc, %d) = %v, want ok %v", tt.p, tt.ceiling, err, tt.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "svc: ") {
			t.Errorf("%+v.Validate: error %q does not name the service", tt.p, err)
		}
	}
}

func TestPagingSize(t *testing.T) {
	t.Parallel()
	p := kit.Paging{PageSize: 20, MaxPageSize: 100}
	for limit, want := range map[int]int{-5: 20, 0: 20, 1: 1, 20: 20, 99: 99, 100: 100, 101: 100, 1000000: 100} {
		if got := p.Size(limit); got != want {
			t.Errorf("Size(%d) = %d, want %d", limit, got, want)
		}
	}
}

func TestPagingRegisterFlags(t *testing.T) {
	t.Parallel()
	var p kit.Paging
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	p.RegisterFlags(fs, "cart.", "carts", "an admin list request", 20, 100)
	if p != (kit.Paging{PageSize: 20, MaxPageSize: 100}) {
		t.Errorf("after registering: %+v, want the defaults", p)
	}
	for name, usage := range map[string]string{
		"cart.page-size":     "carts per page when an admin list request gives no limit",
		"cart.max-page-size": "largest page an admin list request may ask for",
	} {
		f := fs.Lookup(name)
		if f == nil {
			t.Fatalf("no flag %s", name)
		}
		if f.Usage != usage {
			t.Errorf("%s: usage %q, want %q", name, f.Usage, usage)
		}
	}
	if err := fs.Parse([]string{"--cart.page-size=7", "--cart.max-page-size=9"}); err != nil {
		t.Fatal(err)
	}
	if p != (kit.Paging{PageSize: 7, MaxPageSize: 9}) {
		t.Errorf("after parsing: %+v, want {7 9}", p)
	}
}
