package staff

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mercato/mercato/internal/platform/auth"
	"github.com/mercato/mercato/internal/staff/staffapi"
)

var update = flag.Bool("update", false, "rewrite golden files")

// at is 2025-03-03 (a Monday) at hh:mm UTC.
func at(hh, mm int) time.Time { return time.Date(2025, 3, 3, hh, mm, 0, 0, time.UTC) }

func TestSummarize(t *testing.T) {
	from, to := at(8, 0), at(18, 0)
	grace := 5 * time.Minute
	tests := []struct {
		name   string
		ivs    []interval
		shifts []span
		want   worked
	}{
		{name: "nothing", want: worked{}},
		{name: "one closed interval inside",
			ivs:  []interval{{in: at(9, 0), out: at(17, 30)}},
			want: worked{seconds: 8*3600 + 1800, checkIns: 1}},
		{name: "crossing the start is clipped",
			ivs:  []interval{{in: at(6, 0), out: at(9, 0)}},
			want: worked{seconds: 3600, checkIns: 1}},
		{name: "crossing the end is clipped",
			ivs:  []interval{{in: at(17, 0), out: at(20, 0)}},
			want: worked{seconds: 3600, checkIns: 1}},
		{name: "spanning the whole period",
			ivs:  []interval{{in: at(7, 0), out: at(19, 0)}},
			want: worked{seconds: 10 * 3600, checkIns: 1}},
		{name: "outside the period counts nothing",
			ivs:  []interval{{in: at(5, 0), out: at(8, 0)}, {in: at(18, 0), out: at(19, 0)}},
			want: worked{}},
		{name: "open interval counts to now",
			ivs:  []interval{{in: at(16, 0), out: at(17, 0), open: true}},
			want: worked{seconds: 3600, checkIns: 1, checkedIn: true}},
		{name: "open interval past the period end stops at the end",
			ivs:  []interval{{in: at(17, 0), out: at(23, 0), open: true}},
			want: worked{seconds: 3600, checkIns: 1, checkedIn: true}},
		{name: "open interval begun before the period",
			ivs:  []interval{{in: at(7, 0), out: at(9, 0), open: true}},
			want: worked{seconds: 3600, checkIns: 1, checkedIn: true}},
		{name: "several intervals sum, seconds truncated",
			ivs:  []interval{{in: at(9, 0), out: at(12, 0).Add(500 * time.Millisecond)}, {in: at(13, 0), out: at(13, 0).Add(59 * time.Second)}},
			want: worked{seconds: 3*3600 + 59, checkIns: 2}},
		{name: "zero-length interval is a check-in of no time",
			ivs:  []interval{{in: at(10, 0), out: at(10, 0)}},
			want: worked{checkIns: 1}},
		{name: "shift attended on time",
			ivs:    []interval{{in: at(8, 58), out: at(17, 0)}},
			shifts: []span{{start: at(9, 0), end: at(17, 0)}},
			want:   worked{seconds: 8*3600 + 120, checkIns: 1, planned: 1, attended: 1}},
		{name: "within grace is not late",
			ivs:    []interval{{in: at(9, 5), out: at(17, 0)}},
			shifts: []span{{start: at(9, 0), end: at(17, 0)}},
			want:   worked{seconds: 7*3600 + 55*60, checkIns: 1, planned: 1, attended: 1}},
		{name: "late beyond grace",
			ivs:    []interval{{in: at(9, 20), out: at(17, 0)}},
			shifts: []span{{start: at(9, 0), end: at(17, 0)}},
			want:   worked{seconds: 7*3600 + 40*60, checkIns: 1, planned: 1, attended: 1, late: 1, lateSeconds: 20 * 60}},
		{name: "first overlapping interval decides lateness",
			ivs:    []interval{{in: at(12, 0), out: at(13, 0)}, {in: at(8, 0), out: at(11, 0)}},
			shifts: []span{{start: at(9, 0), end: at(17, 0)}},
			want:   worked{seconds: 4 * 3600, checkIns: 2, planned: 1, attended: 1}},
		{name: "missed shift",
			ivs:    []interval{{in: at(8, 0), out: at(9, 0)}},
			shifts: []span{{start: at(9, 0), end: at(12, 0)}, {start: at(13, 0), end: at(17, 0)}},
			want:   worked{seconds: 3600, checkIns: 1, planned: 2}},
		{name: "open interval attends the shift it is in",
			ivs:    []interval{{in: at(13, 30), out: at(15, 0), open: true}},
			shifts: []span{{start: at(13, 0), end: at(17, 0)}},
			want:   worked{seconds: 5400, checkIns: 1, checkedIn: true, planned: 1, attended: 1, late: 1, lateSeconds: 1800}},
		{name: "shift running past the period end attended after it",
			ivs:    []interval{{in: at(17, 0), out: at(22, 0)}},
			shifts: []span{{start: at(17, 0), end: at(23, 0)}},
			want:   worked{seconds: 3600, checkIns: 1, planned: 1, attended: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(from, to, tt.ivs, tt.shifts, grace)
			if got != tt.want {
				t.Errorf("summarize = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHours(t *testing.T) {
	tests := []struct {
		seconds int64
		want    string
	}{
		{0, "0.00"}, {17, "0.00"}, {18, "0.01"}, {1800, "0.50"}, {3600, "1.00"}, {27000, "7.50"},
		{30599, "8.50"}, {3600*100 + 1, "100.00"}, {-1800, "-0.50"},
	}
	for _, tt := range tests {
		if got := hours(tt.seconds); got != tt.want {
			t.Errorf("hours(%d) = %q, want %q", tt.seconds, got, tt.want)
		}
	}
}

func TestCSVSafe(t *testing.T) {
	tests := map[string]string{
		"":                  "",
		"Ada":               "Ada",
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"+1":                "'+1",
		"-2+3":              "'-2+3",
		"@SUM(A1)":          "'@SUM(A1)",
		"\t=1":              "'\t=1",
		"\r=1":              "'\r=1",
		"a=b":               "a=b",
		"'already":          "'already",
		"ok@example.com":    "ok@example.com",
		"12":                "12",
	}
	for in, want := range tests {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteCSV compares the CSV export with testdata/attendance.csv
// (go test -run TestWriteCSV -update rewrites it): header, CRLF, quoting of
// commas, quotes and newlines, and the injection guard on text cells.
func TestWriteCSV(t *testing.T) {
	r := staffapi.AttendanceReport{From: at(0, 0), To: at(0, 0).Add(24 * time.Hour), Items: []staffapi.AttendanceLine{
		{EmployeeID: "e1", Name: "Ada Lovelace", Email: "ada@example.com", Role: auth.RoleOwner, Active: true,
			SecondsWorked: 27000, HoursWorked: "7.50", CheckIns: 2, ShiftsPlanned: 1, ShiftsAttended: 1},
		{EmployeeID: "e2", Name: "=cmd|' /C calc'!A0", Email: "@evil.example", Role: auth.RoleStaff, Active: true,
			SecondsWorked: 3600, HoursWorked: "1.00", CheckIns: 1, CheckedIn: true, ShiftsPlanned: 2, ShiftsAttended: 1,
			LateCheckIns: 1, LateSeconds: 600},
		{EmployeeID: "e3", Name: "Smith, \"Bo\"\nJr", Email: "", Role: auth.RoleSupport, Active: false,
			HoursWorked: "0.00", ShiftsPlanned: 1},
		{EmployeeID: "e4", Name: "-1+1", Email: "+x@example.com", Role: auth.RoleManager, Active: true, HoursWorked: "0.00"},
	}}
	var buf bytes.Buffer
	if err := writeCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "attendance.csv")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("csv =\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestWantsCSV(t *testing.T) {
	tests := []struct {
		format, accept string
		want           bool
	}{
		{"", "", false},
		{"csv", "", true},
		{"json", "text/csv", false},
		{"", "text/csv", true},
		{"", "text/csv; charset=utf-8", true},
		{"", "application/json, text/csv", false},
		{"", "text/html, text/csv;q=0.9", true},
		{"", "*/*", false},
	}
	for _, tt := range tests {
		if got := wantsCSV(tt.format, tt.accept); got != tt.want {
			t.Errorf("wantsCSV(%q, %q) = %v, want %v", tt.format, tt.accept, got, tt.want)
		}
	}
}
