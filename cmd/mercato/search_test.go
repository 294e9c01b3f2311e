package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSearchReindex: `mercato search reindex` builds the indexes of a data
// directory from the search projection (here: an empty one) and says what
// it did.
func TestSearchReindex(t *testing.T) {
	data := t.TempDir()
	var out bytes.Buffer
	root := newRoot([]string{"search", "reindex", "-data", data, "-log.level=error"}, &out, &out, func(string) string { return "" })
	if err := root.Execute(); err != nil {
		t.Fatalf("reindex: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "reindexed 0 products in ") {
		t.Errorf("reindex says %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(data, "search.db")); err != nil {
		t.Errorf("no search database: %v", err)
	}
}

// TestAnalyticsRebuild: `mercato analytics rebuild` replays the analytics
// log of a data directory (here: an empty one) and says what it did.
func TestAnalyticsRebuild(t *testing.T) {
	data := t.TempDir()
	var out bytes.Buffer
	root := newRoot([]string{"analytics", "rebuild", "-data", data, "-log.level=error"}, &out, &out, func(string) string { return "" })
	if err := root.Execute(); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "rebuilt the analytics of 0 stores from 0 events in ") {
		t.Errorf("rebuild says %q", out.String())
	}
}
