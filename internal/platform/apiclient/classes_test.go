package apiclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/cart/cartapi"
	"github.com/mercato/mercato/internal/catalog/catalogapi"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/inventory/inventoryapi"
	"github.com/mercato/mercato/internal/order/orderapi"
	"github.com/mercato/mercato/internal/payment/paymentapi"
	"github.com/mercato/mercato/internal/platform/apiclient"
	"github.com/mercato/mercato/internal/platform/money"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
	"github.com/mercato/mercato/internal/pricing/pricingapi"
	"github.com/mercato/mercato/internal/staff/staffapi"
	"github.com/mercato/mercato/internal/tenant/tenantapi"
)

// problemServer answers every request with the problem it is set to.
type problemServer struct {
	mu     sync.Mutex
	status int
	body   []byte
}

func (p *problemServer) set(status int, code string) {
	b, _ := json.Marshal(map[string]any{"status": status, "code": code, "detail": "answer " + code,
		"errors": []map[string]any{{"location": "body.x", "message": code, "value": "MUG-1"}}})
	p.mu.Lock()
	p.status, p.body = status, b
	p.mu.Unlock()
}

func (p *problemServer) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	status, body := p.status, p.body
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// TestEveryClientKeepsTheAnswersClass walks every <service>api client's
// operations through every problem answer their error mappings know (and
// a few they do not): whatever typed error or sentinel a client makes of
// an answer, errors.As still finds the *apiclient.Error with the answer's
// status and code, so a caller that classes failures by status (the order
// saga's "refused or unavailable") never mistakes a refusal for an outage.
func TestEveryClientKeepsTheAnswersClass(t *testing.T) {
	t.Parallel()
	ps := &problemServer{}
	srv := httptest.NewServer(ps)
	t.Cleanup(srv.Close)
	hc := &http.Client{Timeout: 10 * time.Second}
	eur := money.Money{Amount: 100, Currency: "EUR"}

	pay := paymentapi.NewClient(srv.URL, hc)
	inv := inventoryapi.NewClient(srv.URL, hc)
	idn := identityapi.NewClient(srv.URL, hc)
	stf := staffapi.NewClient(srv.URL, hc)
	prc := pricingapi.NewClient(srv.URL, hc)
	crt := cartapi.NewClient(srv.URL, hc)
	ord := orderapi.NewClient(srv.URL, hc)
	cat := catalogapi.NewClient(srv.URL, hc)
	ten := tenantapi.NewClient(srv.URL, hc)
	var hosts int
	var hostsMu sync.Mutex
	line := []inventoryapi.Line{{SKU: "MUG-1", Quantity: 1}}

	type call struct {
		name string
		do   func(ctx context.Context) error
		// absent are statuses the call takes as a normal outcome: no
		// error, or absentErr (the contract's "no such thing").
		absent    []int
		absentErr error
	}
	calls := []call{
		{name: "payment authorize", do: func(ctx context.Context) error {
			_, err := pay.Authorize(ctx, paymentapi.AuthorizeRequest{OrderID: "o1", Amount: eur, Token: "tok_visa"})
			return err
		}},
		{name: "payment capture", do: func(ctx context.Context) error {
			_, err := pay.Capture(ctx, "o1", paymentapi.CaptureRequest{Amount: eur, Key: "k"})
			return err
		}},
		{name: "payment void", do: func(ctx context.Context) error { _, err := pay.Void(ctx, "o1"); return err }},
		{name: "payment refund", do: func(ctx context.Context) error {
			_, err := pay.Refund(ctx, "o1", paymentapi.RefundRequest{Amount: eur, Key: "k"})
			return err
		}},
		{name: "payment get", do: func(ctx context.Context) error { _, err := pay.Get(ctx, "o1"); return err }},
		{name: "payment list", do: func(ctx context.Context) error { _, err := pay.List(ctx, paymentapi.ListParams{}); return err }},
		{name: "payment audit", do: func(ctx context.Context) error { _, err := pay.Audit(ctx); return err }},
		{name: "payment providers", do: func(ctx context.Context) error { _, err := pay.Providers(ctx); return err }},
		{name: "inventory reserve", do: func(ctx context.Context) error {
			_, err := inv.Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o1", Lines: line})
			return err
		}},
		{name: "inventory commit", do: func(ctx context.Context) error { _, err := inv.Commit(ctx, "o1"); return err }},
		{name: "inventory release", do: func(ctx context.Context) error { _, err := inv.Release(ctx, "o1", "r"); return err }},
		{name: "inventory reservation", do: func(ctx context.Context) error { _, err := inv.Reservation(ctx, "o1"); return err }},
		{name: "inventory restock", do: func(ctx context.Context) error {
			return inv.Restock(ctx, inventoryapi.RestockRequest{Reference: "r", Lines: line})
		}},
		{name: "inventory stock", do: func(ctx context.Context) error { _, err := inv.Stock(ctx, "MUG-1"); return err }},
		{name: "inventory adjust", do: func(ctx context.Context) error {
			_, err := inv.Adjust(ctx, "MUG-1", inventoryapi.Adjustment{Delta: 1, Reason: "r"}, "k")
			return err
		}},
		{name: "inventory threshold", do: func(ctx context.Context) error { _, err := inv.SetThreshold(ctx, "MUG-1", 1); return err }},
		{name: "inventory list", do: func(ctx context.Context) error { _, err := inv.List(ctx, inventoryapi.ListParams{}); return err }},
		{name: "inventory movements", do: func(ctx context.Context) error {
			_, err := inv.Movements(ctx, inventoryapi.ListParams{})
			return err
		}},
		{name: "inventory audit", do: func(ctx context.Context) error { _, err := inv.Audit(ctx); return err }},
		{name: "inventory availability", do: func(ctx context.Context) error {
			_, err := inv.Availability(ctx, []string{"MUG-1"})
			return err
		}},
		{name: "identity create owner", do: func(ctx context.Context) error {
			_, err := idn.CreateOwner(ctx, identityapi.OwnerCreate{Email: "a@b.c", Password: "x", Name: "A"})
			return err
		}},
		{name: "identity owner exists", do: func(ctx context.Context) error { _, err := idn.OwnerExists(ctx); return err }},
		{name: "identity customer", do: func(ctx context.Context) error { _, err := idn.Customer(ctx, "c1"); return err }},
		// identityapi: the customer's and staff's operations of the web UI.
		{name: "identity register", do: func(ctx context.Context) error {
			_, err := idn.Register(ctx, identityapi.Register{Email: "a@b.c", Password: "x", Name: "A"})
			return err
		}},
		{name: "identity login", do: func(ctx context.Context) error {
			_, err := idn.Login(ctx, identityapi.Login{Email: "a@b.c", Password: "x"})
			return err
		}},
		{name: "identity login for a browser", do: func(ctx context.Context) error {
			_, err := idn.LoginFor(ctx, identityapi.Login{Email: "a@b.c", Password: "x"}, "203.0.113.7")
			return err
		}},
		{name: "identity refresh", do: func(ctx context.Context) error { _, err := idn.Refresh(ctx, "rt"); return err }},
		{name: "identity logout", do: func(ctx context.Context) error { return idn.Logout(ctx, "rt") }},
		{name: "identity me", do: func(ctx context.Context) error { _, err := idn.Me(ctx); return err }},
		{name: "identity update me", do: func(ctx context.Context) error {
			_, err := idn.UpdateMe(ctx, identityapi.ProfileUpdate{})
			return err
		}},
		{name: "identity change password", do: func(ctx context.Context) error {
			_, err := idn.ChangePassword(ctx, identityapi.PasswordChange{CurrentPassword: "x", NewPassword: "y"})
			return err
		}},
		{name: "identity addresses", do: func(ctx context.Context) error { _, err := idn.Addresses(ctx); return err }},
		{name: "identity add address", do: func(ctx context.Context) error {
			_, err := idn.AddAddress(ctx, identityapi.AddressInput{Name: "A", Line1: "1", City: "C", Country: "GB"}, "k")
			return err
		}},
		{name: "identity update address", do: func(ctx context.Context) error {
			_, err := idn.UpdateAddress(ctx, "a1", identityapi.AddressUpdate{})
			return err
		}},
		{name: "identity delete address", do: func(ctx context.Context) error { return idn.DeleteAddress(ctx, "a1") }},
		{name: "identity staff login", do: func(ctx context.Context) error {
			_, err := idn.StaffLogin(ctx, identityapi.Login{Email: "a@b.c", Password: "x"})
			return err
		}},
		{name: "identity staff login for a browser", do: func(ctx context.Context) error {
			_, err := idn.StaffLoginFor(ctx, identityapi.Login{Email: "a@b.c", Password: "x"}, "203.0.113.9")
			return err
		}},
		{name: "identity accept invitation", do: func(ctx context.Context) error {
			_, err := idn.AcceptInvitation(ctx, identityapi.InvitationAccept{Token: "t", Password: "x", Name: "A"})
			return err
		}},
		{name: "identity list staff", do: func(ctx context.Context) error { _, err := idn.ListStaff(ctx); return err }},
		{name: "identity invite staff", do: func(ctx context.Context) error {
			_, err := idn.InviteStaff(ctx, identityapi.InvitationCreate{Email: "a@b.c", Role: "staff"})
			return err
		}},
		{name: "identity change staff role", do: func(ctx context.Context) error { _, err := idn.ChangeStaffRole(ctx, "s1", "manager"); return err }},
		{name: "identity deactivate staff", do: func(ctx context.Context) error { _, err := idn.DeactivateStaff(ctx, "s1"); return err }},
		{name: "staff create", do: func(ctx context.Context) error {
			_, err := stf.CreateEmployee(ctx, staffapi.EmployeeCreate{Name: "A", Role: "staff"})
			return err
		}},
		{name: "staff employee", do: func(ctx context.Context) error { _, err := stf.Employee(ctx, "e1"); return err }},
		{name: "staff update", do: func(ctx context.Context) error {
			_, err := stf.UpdateEmployee(ctx, "e1", staffapi.EmployeeUpdate{})
			return err
		}},
		{name: "staff deactivate", do: func(ctx context.Context) error { _, err := stf.DeactivateEmployee(ctx, "e1"); return err }},
		{name: "staff check in", do: func(ctx context.Context) error { _, err := stf.CheckIn(ctx, staffapi.CheckIn{}, "k"); return err }},
		{name: "staff check out", do: func(ctx context.Context) error { _, err := stf.CheckOut(ctx, staffapi.CheckIn{}, "k"); return err }},
		{name: "staff attendance", do: func(ctx context.Context) error {
			_, err := stf.Attendance(ctx, time.Now().Add(-time.Hour), time.Now(), "")
			return err
		}},
		{name: "staff announcement", do: func(ctx context.Context) error {
			_, err := stf.PublishAnnouncement(ctx, staffapi.AnnouncementCreate{Title: "t", Body: "b", Audience: "all"}, "k")
			return err
		}},
		// staffapi: the admin UI's operations.
		{name: "staff employees", do: func(ctx context.Context) error {
			_, err := stf.Employees(ctx, staffapi.EmployeeParams{})
			return err
		}},
		{name: "staff shifts", do: func(ctx context.Context) error {
			_, err := stf.Shifts(ctx, staffapi.ShiftParams{From: time.Now().Add(-time.Hour), To: time.Now()})
			return err
		}},
		{name: "staff shift", do: func(ctx context.Context) error { _, err := stf.Shift(ctx, "s1"); return err }},
		{name: "staff create shift", do: func(ctx context.Context) error {
			_, err := stf.CreateShift(ctx, staffapi.ShiftCreate{EmployeeID: "e1", StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)}, "k")
			return err
		}},
		{name: "staff update shift", do: func(ctx context.Context) error {
			_, err := stf.UpdateShift(ctx, "s1", staffapi.ShiftUpdate{})
			return err
		}},
		{name: "staff delete shift", do: func(ctx context.Context) error { return stf.DeleteShift(ctx, "s1") }},
		{name: "staff announcements", do: func(ctx context.Context) error { _, err := stf.Announcements(ctx, staffapi.Page{}); return err }},
		{name: "staff receipts", do: func(ctx context.Context) error { _, err := stf.Receipts(ctx, "a1"); return err }},
		{name: "staff my announcements", do: func(ctx context.Context) error {
			_, err := stf.MyAnnouncements(ctx, staffapi.Page{})
			return err
		}},
		{name: "staff mark read", do: func(ctx context.Context) error { _, err := stf.MarkRead(ctx, "a1"); return err }},
		{name: "staff presence", do: func(ctx context.Context) error { _, err := stf.Presence(ctx, ""); return err }},
		{name: "pricing quote", do: func(ctx context.Context) error {
			_, err := prc.Quote(ctx, pricingapi.QuoteRequest{Items: []pricingapi.Item{{SKU: "MUG-1", Quantity: 1}}})
			return err
		}},
		{name: "pricing redeem", do: func(ctx context.Context) error {
			_, err := prc.Redeem(ctx, pricingapi.RedeemRequest{OrderID: "o1", Coupon: "C"})
			return err
		}},
		{name: "pricing release redemption", absent: []int{http.StatusNotFound}, do: func(ctx context.Context) error {
			return prc.ReleaseRedemption(ctx, "o1")
		}},
		{name: "pricing shipping methods", do: func(ctx context.Context) error { _, err := prc.ShippingMethods(ctx, "DE"); return err }},
		{name: "pricing discounts", do: func(ctx context.Context) error { _, err := prc.Discounts(ctx); return err }},
		{name: "pricing discount", do: func(ctx context.Context) error { _, err := prc.Discount(ctx, "d1"); return err }},
		{name: "pricing create discount", do: func(ctx context.Context) error {
			_, err := prc.CreateDiscount(ctx, pricingapi.DiscountCreate{Name: "D", Kind: pricingapi.KindFreeShipping}, "k")
			return err
		}},
		{name: "pricing update discount", do: func(ctx context.Context) error {
			_, err := prc.UpdateDiscount(ctx, "d1", pricingapi.DiscountUpdate{})
			return err
		}},
		{name: "pricing delete discount", do: func(ctx context.Context) error { return prc.DeleteDiscount(ctx, "d1") }},
		{name: "pricing tax rates", do: func(ctx context.Context) error { _, err := prc.TaxRates(ctx); return err }},
		{name: "pricing tax rate", do: func(ctx context.Context) error { _, err := prc.TaxRate(ctx, "r1"); return err }},
		{name: "pricing create tax rate", do: func(ctx context.Context) error {
			_, err := prc.CreateTaxRate(ctx, pricingapi.TaxRateInput{Country: "DE", RateBP: 1900, Name: "MwSt"}, "k")
			return err
		}},
		{name: "pricing replace tax rate", do: func(ctx context.Context) error {
			_, err := prc.ReplaceTaxRate(ctx, "r1", pricingapi.TaxRateInput{Country: "DE", RateBP: 1900, Name: "MwSt"})
			return err
		}},
		{name: "pricing delete tax rate", do: func(ctx context.Context) error { return prc.DeleteTaxRate(ctx, "r1") }},
		{name: "pricing admin shipping methods", do: func(ctx context.Context) error { _, err := prc.AdminShippingMethods(ctx); return err }},
		{name: "pricing shipping method", do: func(ctx context.Context) error { _, err := prc.ShippingMethod(ctx, "s1"); return err }},
		{name: "pricing create shipping method", do: func(ctx context.Context) error {
			_, err := prc.CreateShippingMethod(ctx, pricingapi.ShippingMethodInput{Code: "std", Name: "Std", Price: eur}, "k")
			return err
		}},
		{name: "pricing replace shipping method", do: func(ctx context.Context) error {
			_, err := prc.ReplaceShippingMethod(ctx, "s1", pricingapi.ShippingMethodInput{Code: "std", Name: "Std", Price: eur})
			return err
		}},
		{name: "pricing delete shipping method", do: func(ctx context.Context) error { return prc.DeleteShippingMethod(ctx, "s1") }},
		{name: "pricing settings", do: func(ctx context.Context) error { _, err := prc.Settings(ctx); return err }},
		{name: "pricing replace settings", do: func(ctx context.Context) error {
			_, err := prc.ReplaceSettings(ctx, pricingapi.SettingsUpdate{DefaultCountry: "DE"})
			return err
		}},
		{name: "cart get", do: func(ctx context.Context) error { _, err := crt.Get(ctx, "c1"); return err }},
		{name: "cart create", do: func(ctx context.Context) error { _, err := crt.Create(ctx, cartapi.CartCreate{}, "k"); return err }},
		{name: "cart update", do: func(ctx context.Context) error { _, err := crt.Update(ctx, "c1", cartapi.CartUpdate{}); return err }},
		{name: "cart add item", do: func(ctx context.Context) error {
			_, err := crt.AddItem(ctx, "c1", cartapi.Item{SKU: "MUG-1", Quantity: 1})
			return err
		}},
		{name: "cart set quantity", do: func(ctx context.Context) error { _, err := crt.SetQuantity(ctx, "c1", "l1", 2); return err }},
		{name: "cart remove item", do: func(ctx context.Context) error { _, err := crt.RemoveItem(ctx, "c1", "l1"); return err }},
		{name: "cart admin list", do: func(ctx context.Context) error { _, err := crt.AdminCarts(ctx, cartapi.ListParams{}); return err }},
		{name: "order get", do: func(ctx context.Context) error { _, err := ord.Get(ctx, "o1"); return err }},
		// orderapi: the storefront's and admin UI's operations.
		{name: "order checkout", do: func(ctx context.Context) error {
			_, err := ord.Checkout(ctx, orderapi.CheckoutRequest{Items: []orderapi.Item{{SKU: "MUG-1", Quantity: 1}}}, "k")
			return err
		}},
		{name: "order guest order", do: func(ctx context.Context) error { _, err := ord.GuestOrder(ctx, "o1", "tok"); return err }},
		{name: "order guest cancel", do: func(ctx context.Context) error { _, err := ord.GuestCancel(ctx, "o1", "tok"); return err }},
		{name: "order request return", do: func(ctx context.Context) error {
			_, err := ord.RequestReturn(ctx, "o1", "", orderapi.ReturnCreate{Lines: []orderapi.ReturnLineRequest{{SKU: "MUG-1", Quantity: 1}}}, "k")
			return err
		}},
		{name: "order my orders", do: func(ctx context.Context) error { _, err := ord.MyOrders(ctx, "", 0); return err }},
		{name: "order list", do: func(ctx context.Context) error { _, err := ord.List(ctx, orderapi.ListParams{}); return err }},
		{name: "order cancel", do: func(ctx context.Context) error { _, err := ord.Cancel(ctx, "o1"); return err }},
		{name: "order refund", do: func(ctx context.Context) error {
			_, err := ord.Refund(ctx, "o1", orderapi.RefundCreate{Amount: eur, Key: "k"})
			return err
		}},
		{name: "order ship", do: func(ctx context.Context) error {
			_, err := ord.Ship(ctx, "o1", orderapi.ShipmentCreate{Carrier: "DHL", TrackingNumber: "1"}, "k")
			return err
		}},
		{name: "order track", do: func(ctx context.Context) error {
			_, err := ord.Track(ctx, "o1", "s1", orderapi.TrackingUpdate{Status: orderapi.ShipmentDelivered})
			return err
		}},
		{name: "order receive return", do: func(ctx context.Context) error {
			_, err := ord.ReceiveReturn(ctx, "o1", "r1", orderapi.ReturnReceive{})
			return err
		}},
		{name: "order reject return", do: func(ctx context.Context) error { _, err := ord.RejectReturn(ctx, "o1", "r1"); return err }},
		{name: "order cancel with key", do: func(ctx context.Context) error { _, err := ord.CancelWithKey(ctx, "o1", "k"); return err }},
		{name: "order track with key", do: func(ctx context.Context) error {
			_, err := ord.TrackWithKey(ctx, "o1", "s1", orderapi.TrackingUpdate{Status: orderapi.ShipmentInTransit}, "k")
			return err
		}},
		{name: "order receive return as", do: func(ctx context.Context) error {
			_, err := ord.ReceiveReturnAs(ctx, "o1", "r1", orderapi.ReturnDecision{}, "k")
			return err
		}},
		{name: "order reject return with key", do: func(ctx context.Context) error { _, err := ord.RejectReturnWithKey(ctx, "o1", "r1", "k"); return err }},
		{name: "catalog product", do: func(ctx context.Context) error { _, err := cat.Product(ctx, "p1"); return err }},
		{name: "catalog products", do: func(ctx context.Context) error {
			_, err := cat.Products(ctx, catalogapi.ListParams{})
			return err
		}},
		{name: "catalog categories", do: func(ctx context.Context) error { _, err := cat.Categories(ctx); return err }},
		{name: "catalog admin products", do: func(ctx context.Context) error {
			_, err := cat.AdminProducts(ctx, catalogapi.AdminListParams{Status: catalogapi.StatusDraft})
			return err
		}},
		{name: "catalog admin product", do: func(ctx context.Context) error { _, err := cat.AdminProduct(ctx, "p1"); return err }},
		{name: "catalog create product", do: func(ctx context.Context) error {
			_, err := cat.CreateProduct(ctx, catalogapi.ProductCreate{Title: "Mug"}, "k")
			return err
		}},
		{name: "catalog update product", do: func(ctx context.Context) error {
			_, err := cat.UpdateProduct(ctx, "p1", catalogapi.ProductUpdate{})
			return err
		}},
		{name: "catalog archive product", do: func(ctx context.Context) error { return cat.ArchiveProduct(ctx, "p1") }},
		{name: "catalog admin categories", do: func(ctx context.Context) error { _, err := cat.AdminCategories(ctx); return err }},
		{name: "catalog admin category", do: func(ctx context.Context) error { _, err := cat.AdminCategory(ctx, "c1"); return err }},
		{name: "catalog create category", do: func(ctx context.Context) error {
			_, err := cat.CreateCategory(ctx, catalogapi.CategoryCreate{Name: "Coffee"}, "k")
			return err
		}},
		{name: "catalog update category", do: func(ctx context.Context) error {
			_, err := cat.UpdateCategory(ctx, "c1", catalogapi.CategoryUpdate{})
			return err
		}},
		{name: "catalog delete category", do: func(ctx context.Context) error { return cat.DeleteCategory(ctx, "c1") }},
		// No store answers to a host the directory does not know or finds
		// malformed.
		{name: "tenant resolve", absent: []int{http.StatusNotFound, http.StatusBadRequest, http.StatusUnprocessableEntity},
			absentErr: web.ErrUnknownTenant, do: func(ctx context.Context) error {
				hostsMu.Lock()
				hosts++ // answers are cached per host
				h := fmt.Sprintf("shop%d.example.com", hosts)
				hostsMu.Unlock()
				_, err := ten.ResolveTenant(ctx, h, "")
				return err
			}},
		{name: "tenant limits", do: func(ctx context.Context) error { _, err := ten.Limits(ctx); return err }},
		// tenantapi: the admin UI's operations and signup.
		{name: "tenant store", do: func(ctx context.Context) error { _, err := ten.Store(ctx); return err }},
		{name: "tenant update store", do: func(ctx context.Context) error {
			_, err := ten.UpdateStore(ctx, tenantapi.StoreUpdate{})
			return err
		}},
		{name: "tenant domains", do: func(ctx context.Context) error { _, err := ten.Domains(ctx); return err }},
		{name: "tenant add domain", do: func(ctx context.Context) error { _, err := ten.AddDomain(ctx, "shop.example.com"); return err }},
		{name: "tenant remove domain", do: func(ctx context.Context) error { return ten.RemoveDomain(ctx, "shop.example.com") }},
		{name: "tenant api keys", do: func(ctx context.Context) error { _, err := ten.APIKeys(ctx); return err }},
		{name: "tenant create api key", do: func(ctx context.Context) error {
			_, err := ten.CreateAPIKey(ctx, tenantapi.APIKeyCreate{Name: "n", Kind: tenantapi.KeySecret})
			return err
		}},
		{name: "tenant revoke api key", do: func(ctx context.Context) error { return ten.RevokeAPIKey(ctx, "k1") }},
		{name: "tenant signup", do: func(ctx context.Context) error {
			_, err := ten.Signup(ctx, tenantapi.Signup{StoreName: "S", Subdomain: "acme", Email: "a@b.c", Password: "x"}, "k")
			return err
		}},
	}
	// Every code a client maps to a type or sentinel of its own, and some
	// it passes on as they are.
	problems := []struct {
		status int
		code   string
	}{
		{400, "validation_failed"}, {422, "validation_failed"}, {404, "not_found"},
		{402, paymentapi.CodeDeclined}, {504, paymentapi.CodeTimeout}, {404, paymentapi.CodeNotFound},
		{409, paymentapi.CodeRefundExceedsCaptured}, {409, paymentapi.CodeInvalidState}, {422, paymentapi.CodeUnknownProvider},
		{409, "out_of_stock"}, {409, "reservation_closed"}, {404, "reservation_not_found"},
		{409, "owner_exists"}, {409, "email_taken"}, {422, "weak_password"},
		{404, "employee_not_found"}, {409, "already_checked_in"}, {409, "not_checked_in"}, {409, "shift_overlap"},
		{409, "employee_inactive"}, {409, "account_taken"},
		{422, "unknown_sku"}, {409, "coupon_exhausted"}, {404, "cart_not_found"}, {404, "order_not_found"},
		{404, "line_not_found"}, {404, "product_not_found"}, {409, "already_exists"},
		{403, "forbidden"}, {401, "unauthorized"},
		{404, "shipment_not_found"}, {404, "return_not_found"}, {401, "invalid_credentials"},
		{401, "invalid_refresh_token"}, {401, "refresh_token_reused"}, {403, "not_an_employee"},
	}
	ctx := tenancy.WithID(t.Context(), "t-classes")
	for _, p := range problems {
		ps.set(p.status, p.code)
		for _, c := range calls {
			err := c.do(ctx)
			if slices.Contains(c.absent, p.status) && (err == nil || c.absentErr != nil && errors.Is(err, c.absentErr)) {
				continue
			}
			if err == nil {
				t.Errorf("%s on %d %s: no error", c.name, p.status, p.code)
				continue
			}
			var ae *apiclient.Error
			if !errors.As(err, &ae) {
				t.Errorf("%s on %d %s: %T %v has no *apiclient.Error in its chain", c.name, p.status, p.code, err, err)
				continue
			}
			if ae.Status != p.status || ae.Code != p.code {
				t.Errorf("%s on %d %s: the chain's answer is %d %s", c.name, p.status, p.code, ae.Status, ae.Code)
			}
			if !apiclient.IsStatus(err, p.status) || !apiclient.IsCode(err, p.code) {
				t.Errorf("%s on %d %s: IsStatus/IsCode do not see the answer through %T", c.name, p.status, p.code, err)
			}
			if strings.Contains(err.Error(), "%!") {
				t.Errorf("%s on %d %s: malformed message %q", c.name, p.status, p.code, err)
			}
		}
	}
}

// TestTypedErrorsKeepTheirData checks the typed errors made of an answer
// carry its data as well as its class.
func TestTypedErrorsKeepTheirData(t *testing.T) {
	t.Parallel()
	ps := &problemServer{}
	srv := httptest.NewServer(ps)
	t.Cleanup(srv.Close)
	ctx := tenancy.WithID(t.Context(), "t-classes")

	ps.set(402, paymentapi.CodeDeclined)
	_, err := paymentapi.NewClient(srv.URL, nil).Capture(ctx, "o1", paymentapi.CaptureRequest{Amount: money.Money{Amount: 1, Currency: "EUR"}})
	var de *paymentapi.DeclinedError
	if !errors.As(err, &de) || de.Reason != "MUG-1" || !apiclient.IsStatus(err, 402) {
		t.Errorf("capture declined: %T %v", err, err)
	}

	ps.set(409, "out_of_stock")
	_, err = inventoryapi.NewClient(srv.URL, nil).Reserve(ctx, inventoryapi.ReserveRequest{OrderID: "o1",
		Lines: []inventoryapi.Line{{SKU: "MUG-1", Quantity: 3}}})
	var oos *inventoryapi.OutOfStockError
	if !errors.As(err, &oos) || oos.SKU != "MUG-1" || oos.Requested != 3 || !apiclient.IsCode(err, "out_of_stock") {
		t.Errorf("reserve out of stock: %T %v", err, err)
	}

	// A typed error built without an answer (a fake in tests) matches no
	// *apiclient.Error: Unwrap must not hand out a typed nil.
	var ae *apiclient.Error
	if errors.As(error(&paymentapi.DeclinedError{Reason: "x"}), &ae) || errors.As(error(&inventoryapi.OutOfStockError{}), &ae) {
		t.Error("a typed error without an answer matched *apiclient.Error")
	}
}
