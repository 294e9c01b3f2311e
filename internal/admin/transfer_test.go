package admin

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReceiveImportOneFile: a form with a second file part is refused, and
// the only temporary file left is the one the caller removes.
func TestReceiveImportOneFile(t *testing.T) {
	s := &Service{importDir: t.TempDir()}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("kind", "stock")
	for _, name := range []string{"a.csv", "b.csv"} {
		fw, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write([]byte("sku,on_hand\nA-1,1\n"))
	}
	_ = mw.Close()
	r := httptest.NewRequest(http.MethodPost, transferPath, &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	j, _, tmp, problem := s.receiveImport(httptest.NewRecorder(), r)
	if j != nil || !strings.Contains(problem, "one file") {
		t.Fatalf("two files: job %v, problem %q", j, problem)
	}
	files, _ := filepath.Glob(filepath.Join(s.importDir, "*"))
	if len(files) != 1 || files[0] != tmp {
		t.Fatalf("temporary files %q, and the caller removes %q", files, tmp)
	}
}

// TestImportDirs: each admin has a directory of its own; those of
// processes that are gone are removed, a running process's kept.
func TestImportDirs(t *testing.T) {
	base := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(base, fmt.Sprintf("%s%d-x", importDirPrefix, cmd.Process.Pid))
	live := filepath.Join(base, fmt.Sprintf("%s%d-y", importDirPrefix, os.Getppid()))
	other := filepath.Join(base, "something-else")
	for _, d := range []string{gone, live, other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := newImportDir(base)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("own directory %s: %v %v", dir, fi, err)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the directory of a process that is gone is still there (%v)", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed: %v", d, err)
		}
	}
}
