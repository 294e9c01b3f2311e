package deploy

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/mercato/mercato/test/harness"
)

// checkoutRoute is the route label of the checkout in mercato_http_*, as
// the rules and the dashboard select it; TestMetricsExist proves it.
const checkoutRoute = "POST /api/v1/checkout"

// TestMetricsExist starts the real binary (laptop shape; and a gateway
// process in front when the gateway service exists), places an order, scrapes
// /metrics and checks that every metric the dashboard and the rules query is
// exported, so a renamed metric cannot silently empty a panel or an alert.
func TestMetricsExist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs mercato")
	}
	dir := t.TempDir()
	bin, err := harness.Build(dir)
	if err != nil {
		t.Fatalf("build mercato: %v", err)
	}
	const token = "deploy-test-service-token-0123456789abcdef"
	p := harness.Start(t, bin, nil, "-data="+dir+"/data", "-service-token="+token)
	procs := []*harness.Proc{p}
	front := p
	if _, err := os.Stat("../internal/gateway"); err == nil {
		// The gateway routes to the laptop process for every service.
		var urls []string
		for _, s := range mercatoServices {
			if s != "gateway" {
				urls = append(urls, s+"="+p.URL)
			}
		}
		gw := harness.Start(t, bin, nil, "-data="+dir+"/gateway", "-services=gateway",
			"-service-token="+token, "-urls="+strings.Join(urls, ","))
		procs = append(procs, gw)
		front = gw
	}

	placeOrder(t, front)

	exported := map[string]bool{}
	for _, proc := range procs {
		for n := range scrape(t, proc.MetricsURL+"/metrics") {
			exported[n] = true
		}
	}
	// The checkout's route label is the one the rules select.
	if !exported[`mercato_http_requests_total{route="`+checkoutRoute+`"}`] {
		t.Errorf("no mercato_http_requests_total with route=%q: the rules and the dashboard select the checkout by it", checkoutRoute)
	}

	queried, recorded := queriedMetrics(t)
	var missing []string
	for name, where := range queried {
		if exported[name] || recorded[name] || name == "up" {
			continue
		}
		missing = append(missing, fmt.Sprintf("%s (%s)", name, strings.Join(where, ", ")))
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("queried but not exported by mercato after a checkout:\n  %s", strings.Join(missing, "\n  "))
	}
}

// placeOrder checks out one unit of the first demo product with the fake
// provider's test card, through the front process.
func placeOrder(t *testing.T, p *harness.Proc) {
	t.Helper()
	var list struct {
		Items []struct {
			Variants []struct {
				SKU string `json:"sku"`
			} `json:"variants"`
		} `json:"items"`
	}
	r := p.Call("GET", "/api/v1/products?limit=1", nil, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list products: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &list)
	if len(list.Items) == 0 || len(list.Items[0].Variants) == 0 {
		t.Fatalf("no demo product to buy: %s", r.Body)
	}
	sku := list.Items[0].Variants[0].SKU
	body := map[string]any{
		"items": []map[string]any{{"sku": sku, "quantity": 1}},
		"email": "deploy-test@example.com",
		"shipping_address": map[string]any{
			"name": "Ada Lovelace", "line1": "Hauptstraße 1", "city": "Berlin", "postal_code": "10115", "country": "DE",
		},
		"payment": map[string]any{"provider": "fake", "token": "tok_visa"},
	}
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; ; i++ {
		r = p.Call("POST", "/api/v1/checkout", body, map[string]string{"Idempotency-Key": fmt.Sprintf("deploy-test-%d", i)})
		if r.Status == http.StatusCreated {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkout of %s: %d %s", sku, r.Status, r.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// scrape returns the series names of a /metrics page, each also with its
// route label when it has one (name{route="…"}).
func scrape(t *testing.T, url string) map[string]bool {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	names := map[string]bool{}
	route := regexp.MustCompile(`route="([^"]*)"`)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		names[name] = true
		if m := route.FindStringSubmatch(line); m != nil {
			names[name+`{route="`+m[1]+`"}`] = true
		}
	}
	if err := sc.Err(); err != nil && err != io.EOF {
		t.Fatal(err)
	}
	return names
}

// queriedMetrics returns every metric name the dashboard's panels and the
// rules' expressions select (with where), and the recording rules' names.
func queriedMetrics(t *testing.T) (map[string][]string, map[string]bool) {
	t.Helper()
	queried := map[string][]string{}
	add := func(expr, where string) {
		for _, n := range metricNames(expr) {
			if !slices.Contains(queried[n], where) {
				queried[n] = append(queried[n], where)
			}
		}
	}
	b, err := os.ReadFile("grafana/dashboards/mercato.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	var panels int
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			add(tg.Expr, "dashboard: "+p.Title)
			panels++
		}
	}
	if panels < 10 {
		t.Fatalf("the dashboard has %d queries", panels)
	}
	recorded := map[string]bool{}
	files, _ := os.ReadDir("prometheus/rules")
	for _, f := range files {
		b, err := os.ReadFile("prometheus/rules/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		var rf struct {
			Groups []struct {
				Rules []struct {
					Record string `json:"record"`
					Alert  string `json:"alert"`
					Expr   string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		}
		if err := yaml.Unmarshal(b, &rf); err != nil {
			t.Fatalf("%s: %v", f.Name(), err)
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if r.Record != "" {
					recorded[r.Record] = true
				}
				add(r.Expr, "rule: "+r.Record+r.Alert)
			}
		}
	}
	return queried, recorded
}

var (
	promStrings   = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|` + "`[^`]*`")
	promMatchers  = regexp.MustCompile(`\{[^{}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\[\]]*\]`)
	promOffsets   = regexp.MustCompile(`(?:\boffset\s+-?|@\s*)[0-9][0-9a-z.]*`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	promFunctions = regexp.MustCompile(`\b[a-zA-Z_][a-zA-Z0-9_]*\s*\(`)
	promTokens    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promNumbers   = regexp.MustCompile(`\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b`)
	promKeywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// metricNames returns the metric names a PromQL expression selects: what is
// left once strings, label matchers, ranges, offsets, grouping clauses,
// function names, numbers and keywords are taken out.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, " ")
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promOffsets.ReplaceAllString(s, " ")
	s = promGrouping.ReplaceAllString(s, " ")
	s = promFunctions.ReplaceAllString(s, " (")
	s = promNumbers.ReplaceAllString(s, " ")
	var names []string
	for _, tok := range promTokens.FindAllString(s, -1) {
		if !slices.Contains(promKeywords, tok) && !slices.Contains(names, tok) {
			names = append(names, tok)
		}
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for _, c := range []struct {
		expr string
		want []string
	}{
		{`sum by (route) (rate(mercato_http_requests_total{code=~"5..", route="a b"}[5m]))`, []string{"mercato_http_requests_total"}},
		{`histogram_quantile(0.99, sum by (le, group) (rate(x_bucket{le="1"}[5m])))`, []string{"x_bucket"}},
		{"a:b:ratio_rate1h > (14.4 * 0.001)\nand\nc_total offset 5m > 1e-3", []string{"a:b:ratio_rate1h", "c_total"}},
		{`count by (service) (g == 0) / on (service) group_left h`, []string{"g", "h"}},
		{`1 - (sum(rate(y_bucket{le="30"}[30m])) / sum(rate(y_count[30m])))`, []string{"y_bucket", "y_count"}},
	} {
		if got := metricNames(c.expr); !slices.Equal(got, c.want) {
			t.Errorf("metricNames(%q) = %q, want %q", c.expr, got, c.want)
		}
	}
}
