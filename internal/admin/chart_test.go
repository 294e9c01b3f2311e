package admin

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// svgNode is an element of the chart, read back with encoding/xml.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n svgNode) all(name string) []svgNode {
	var out []svgNode
	for _, c := range n.Nodes {
		if c.XMLName.Local == name {
			out = append(out, c)
		}
	}
	return out
}

func testLabels() chartLabels {
	return chartLabels{
		Title:  "Revenue <last 30 days>",
		Amount: func(m int64) string { return fmt.Sprintf("€%d.%02d", m/100, m%100) },
		Day:    func(t time.Time) string { return t.Format("2 Jan") },
	}
}

func TestRevenueChart(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	days := make([]chartDay, 30)
	for i := range days {
		days[i] = chartDay{Day: start.AddDate(0, 0, i)}
	}
	days[3].Amount = 4000  // €40
	days[10].Amount = 8000 // €80: the peak
	days[29].Amount = 1    // one cent still shows

	out := string(revenueChart(days, testLabels()))
	if strings.Contains(out, "style=") {
		t.Errorf("the chart has a style attribute, which the CSP refuses:\n%s", out)
	}
	if strings.Contains(out, "<last") {
		t.Errorf("the title is not escaped:\n%s", out)
	}
	var svg svgNode
	if err := xml.Unmarshal([]byte(out), &svg); err != nil {
		t.Fatalf("not well-formed XML: %v\n%s", err, out)
	}
	if svg.XMLName.Local != "svg" || svg.attr("role") != "img" || svg.attr("aria-labelledby") != "chart-title chart-desc" {
		t.Fatalf("root %s role %q labelledby %q", svg.XMLName.Local, svg.attr("role"), svg.attr("aria-labelledby"))
	}
	if got := svg.all("title"); len(got) != 1 || got[0].Text != "Revenue <last 30 days>" {
		t.Errorf("title = %+v", got)
	}
	desc := svg.all("desc")
	if len(desc) != 1 || !strings.Contains(desc[0].Text, "€120.01 in all") || !strings.Contains(desc[0].Text, "highest day 11 Mar with €80.00") {
		t.Errorf("desc = %+v", desc)
	}

	bars := svg.all("rect")
	if len(bars) != 30 {
		t.Fatalf("%d bars, want 30", len(bars))
	}
	height := func(i int) float64 {
		h, err := strconv.ParseFloat(bars[i].attr("height"), 64)
		if err != nil {
			t.Fatalf("bar %d height %q", i, bars[i].attr("height"))
		}
		return h
	}
	// The axis tops at €100 (80 rounded up to 1, 2 or 5 × 10^n): the peak
	// fills 80% of the plot, the €40 day half of that.
	plot := float64(plotBottom - plotTop)
	if h := height(10); h < 0.79*plot || h > 0.81*plot {
		t.Errorf("peak bar height %.1f, want 80%% of %.0f", h, plot)
	}
	if h3, h10 := height(3), height(10); h3*2 < h10-0.5 || h3*2 > h10+0.5 {
		t.Errorf("bars not proportional: %.1f and %.1f", h3, h10)
	}
	if height(0) != 0 || height(29) < 1 {
		t.Errorf("empty day %.1f, one-cent day %.1f", height(0), height(29))
	}
	if tip := bars[10].all("title"); len(tip) != 1 || tip[0].Text != "11 Mar: €80.00" {
		t.Errorf("bar tooltip = %+v", tip)
	}
	for _, b := range bars {
		if b.attr("class") != "bar" {
			t.Errorf("bar class %q", b.attr("class"))
		}
	}

	var texts []string
	for _, tx := range svg.all("text") {
		texts = append(texts, tx.Text)
	}
	all := strings.Join(texts, "|")
	for _, want := range []string{"€0.00", "€50.00", "€100.00", "1 Mar", "6 Mar", "26 Mar", "30 Mar"} {
		if !strings.Contains(all, want) {
			t.Errorf("axis labels %q lack %q", all, want)
		}
	}
}

func TestRevenueChartEmpty(t *testing.T) {
	for _, days := range [][]chartDay{nil, {{Day: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}}} {
		out := string(revenueChart(days, testLabels()))
		var svg svgNode
		if err := xml.Unmarshal([]byte(out), &svg); err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, out)
		}
		if d := svg.all("desc"); len(d) != 1 || d[0].Text != "No revenue in these days." {
			t.Errorf("desc = %+v", d)
		}
		if n := len(svg.all("rect")); n != len(days) {
			t.Errorf("%d bars for %d days", n, len(days))
		}
		if n := len(svg.all("line")); n != 1 {
			t.Errorf("%d gridlines, want the 0 line only", n)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for _, tt := range []struct{ in, want int64 }{
		{0, 0}, {-5, 0}, {1, 1}, {3, 5}, {7, 10}, {10, 10}, {11, 20}, {8000, 10000}, {12345, 20000}, {50001, 100000},
	} {
		if got := niceCeil(tt.in); got != tt.want {
			t.Errorf("niceCeil(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
