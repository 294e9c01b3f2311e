package admin

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"strings"
	"time"
)

// chartDay is one bar of a chart: a day and its amount in minor units.
type chartDay struct {
	Day    time.Time
	Amount int64
}

// chartLabels format a chart's texts: amounts in minor units, and days.
type chartLabels struct {
	// ID names the chart's title and description elements ("chart" when
	// empty): unique on its page.
	ID     string
	Title  string
	Amount func(minor int64) string
	Day    func(time.Time) string
}

// The chart's geometry, in viewBox units: the SVG scales to its box.
const (
	chartW, chartH = 720, 260
	plotLeft       = 76  // room for the amount labels
	plotRight      = 8   // a margin after the last bar
	plotTop        = 12  // room for the top label
	plotBottom     = 222 // the axis; day labels below it
)

// revenueChart draws days as an SVG bar chart: a bar per day, the amount
// axis with three gridlines, a label under every fifth day, a <title> and
// a <desc> that say what it shows (for screen readers, with the table
// beside it on the page), and a <title> per bar (a tooltip). It uses
// presentation attributes and classes only, never style attributes: the
// pages' Content-Security-Policy has no 'unsafe-inline'. Every text is
// escaped here, which is what makes the template.HTML safe.
func revenueChart(days []chartDay, l chartLabels) template.HTML {
	return dayChart(days, l, false)
}

// revenueLine draws days as revenueChart does, but as a line through each
// day's amount, with a point (and its tooltip) per day.
func revenueLine(days []chartDay, l chartLabels) template.HTML {
	return dayChart(days, l, true)
}

// dayChart is revenueChart (bars) and revenueLine (line).
func dayChart(days []chartDay, l chartLabels, line bool) template.HTML {
	var max int64
	var total int64
	peak := -1
	for i, d := range days {
		total += d.Amount
		if d.Amount > max {
			max, peak = d.Amount, i
		}
	}
	top := niceCeil(max)
	var b strings.Builder
	e := html.EscapeString
	desc := "No revenue in these days."
	if len(days) > 0 && max > 0 {
		desc = fmt.Sprintf("%d days from %s to %s: %s in all; the highest day %s with %s.", len(days),
			l.Day(days[0].Day), l.Day(days[len(days)-1].Day), l.Amount(total), l.Day(days[peak].Day), l.Amount(max))
	}
	chartStart(&b, l, chartH, desc)

	// The amount axis: gridlines at 0, half and the top, labelled (only
	// 0 when there is nothing to show).
	plotH := float64(plotBottom - plotTop)
	levels := []float64{0, 0.5, 1}
	if top == 0 {
		levels = levels[:1]
	}
	for _, f := range levels {
		y := float64(plotBottom) - f*plotH
		amount := int64(math.Round(f * float64(top)))
		fmt.Fprintf(&b, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#d0d7de" stroke-width="1"/>`,
			plotLeft, y, chartW-plotRight, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`,
			plotLeft-6, y, e(l.Amount(amount)))
	}
	if len(days) == 0 {
		b.WriteString(`</svg>`)
		return template.HTML(b.String())
	}
	slot := float64(chartW-plotLeft-plotRight) / float64(len(days))
	barW := math.Max(1, slot*0.7)
	var points []string
	for i, d := range days {
		x := float64(plotLeft) + float64(i)*slot + (slot-barW)/2
		h := 0.0
		if top > 0 {
			h = float64(d.Amount) / float64(top) * plotH
		}
		if d.Amount > 0 && h < 1 {
			h = 1 // a day with sales is never invisible
		}
		if line {
			points = append(points, fmt.Sprintf("%.1f,%.1f", x+barW/2, float64(plotBottom)-h))
		} else {
			fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f"><title>%s: %s</title></rect>`,
				x, float64(plotBottom)-h, barW, h, e(l.Day(d.Day)), e(l.Amount(d.Amount)))
		}
		// A label under every fifth day and the last one.
		if i%5 == 0 || i == len(days)-1 && i%5 >= 3 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x+barW/2, plotBottom+18, e(l.Day(d.Day)))
		}
	}
	if line {
		fmt.Fprintf(&b, `<polyline class="line" points="%s" fill="none" stroke="currentColor" stroke-width="2"/>`, strings.Join(points, " "))
		for i, pt := range points {
			x, y, _ := strings.Cut(pt, ",")
			fmt.Fprintf(&b, `<circle class="point" cx="%s" cy="%s" r="3"><title>%s: %s</title></circle>`,
				x, y, e(l.Day(days[i].Day)), e(l.Amount(days[i].Amount)))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// chartStart opens a chart's <svg> of height h, labelled by its title and
// desc (ids from l.ID, "chart" when empty, so a page can hold several).
func chartStart(b *strings.Builder, l chartLabels, h int, desc string) {
	id := l.ID
	if id == "" {
		id = "chart"
	}
	e := html.EscapeString
	fmt.Fprintf(b, `<svg class="chart" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="%s-title %s-desc" xmlns="http://www.w3.org/2000/svg">`,
		chartW, h, chartW, h, e(id), e(id))
	fmt.Fprintf(b, `<title id="%s-title">%s</title>`, e(id), e(l.Title))
	fmt.Fprintf(b, `<desc id="%s-desc">%s</desc>`, e(id), e(desc))
}

// chartBar is one bar of a barChart: a name and its value.
type chartBar struct {
	Name  string
	Value int64
}

// barChart draws named values as horizontal bars, one row each with its
// name and its value (formatted by value) written beside it, longest
// first as given; desc says what the chart shows in words.
func barChart(bars []chartBar, l chartLabels, value func(int64) string, desc string) template.HTML {
	const rowH, nameW = 28, 220
	h := max(rowH, rowH*len(bars)) + 8
	var b strings.Builder
	e := html.EscapeString
	chartStart(&b, l, h, desc)
	var top int64
	for _, r := range bars {
		top = max(top, r.Value)
	}
	width := float64(chartW - nameW - 120)
	for i, r := range bars {
		y := 4 + i*rowH
		w := 0.0
		if top > 0 {
			w = float64(r.Value) / float64(top) * width
		}
		if r.Value > 0 && w < 1 {
			w = 1
		}
		name := r.Name
		if len([]rune(name)) > 28 {
			name = string([]rune(name)[:27]) + "…"
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" dominant-baseline="middle">%s</text>`, nameW-8, y+rowH/2, e(name))
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%.1f" height="%d"><title>%s: %s</title></rect>`,
			nameW, y+4, w, rowH-8, e(r.Name), e(value(r.Value)))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" dominant-baseline="middle">%s</text>`, float64(nameW)+w+6, y+rowH/2, e(value(r.Value)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten, so the axis
// labels are round amounts (0 stays 0).
func niceCeil(n int64) int64 {
	if n <= 0 {
		return 0
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
		if p > math.MaxInt64/100 {
			return n
		}
	}
}
