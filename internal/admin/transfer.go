package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mercato/mercato/internal/csvio"
	"github.com/mercato/mercato/internal/identity/identityapi"
	"github.com/mercato/mercato/internal/platform/kit"
	"github.com/mercato/mercato/internal/platform/page"
	"github.com/mercato/mercato/internal/platform/tenancy"
	"github.com/mercato/mercato/internal/platform/web"
)

// The Import / export page runs csvio, the engine behind `mercato import`
// and `mercato export`, as the signed-in member: an upload is streamed to
// a temporary file and imported in the background, the page shows its
// progress (site.js reads the page again every second while it runs) and
// its error report; the export buttons download CSV. Owners and managers
// use it (identity-import-customer and the catalog's writers).

const (
	transferPath = "/admin/import-export"
	// maxImportFile bounds an upload.
	maxImportFile = 256 << 20
	// keptJobs is how many finished imports a process keeps, with their
	// error reports, for all stores together.
	keptJobs = 50
)

// transferRoles may use the page.
var transferRoles = managerRoles

func (s *Service) transferRoutes(api *web.API, route routeFunc) {
	api.LimitBody(http.MethodPost, transferPath, maxImportFile+64<<10)
	route("GET "+transferPath, s.transferPage)
	route("POST "+transferPath, s.startImport)
	route("GET "+transferPath+"/imports/{id}", s.importPage)
	route("GET "+transferPath+"/imports/{id}/errors.csv", s.importErrors)
	route("GET "+transferPath+"/export/{kind}", s.exportCSV)
}

// importDirPrefix names the directories of the admin processes' uploads
// and error reports: mercato-imports-<pid>-<random> in the system's
// temporary directory, one for each admin (Service).
const importDirPrefix = "mercato-imports-"

// newImportDir makes this admin's directory for uploads and error reports
// under base, after removing the directories of processes that are gone
// (their files are of no use to anyone).
func newImportDir(base string) (string, error) {
	removeStaleImportDirs(base)
	return os.MkdirTemp(base, fmt.Sprintf("%s%d-*", importDirPrefix, os.Getpid()))
}

// removeStaleImportDirs removes the import directories under base of
// processes that no longer run. Where a process's state cannot be told
// (another user's, another OS), the directory stays.
func removeStaleImportDirs(base string) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), importDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		proc, err := os.FindProcess(pid)
		if err != nil {
			continue
		}
		if errors.Is(proc.Signal(syscall.Signal(0)), os.ErrProcessDone) {
			_ = os.RemoveAll(filepath.Join(base, e.Name()))
		}
		_ = proc.Release()
	}
}

// importTemp creates a temporary file in this admin's import directory.
func (s *Service) importTemp(pattern string) (*os.File, error) {
	// MkdirAll: a cleaner of the system's temporary directory may have
	// taken it since.
	if err := os.MkdirAll(s.importDir, 0o700); err != nil {
		return nil, err
	}
	return os.CreateTemp(s.importDir, pattern)
}

// importJob is an import running or run in this process.
type importJob struct {
	ID, Tenant, Kind, File string
	DryRun                 bool
	Size                   int64
	Started                time.Time
	read                   atomic.Int64
	rows                   atomic.Int64

	mu      sync.Mutex
	done    bool
	summary csvio.Summary
	err     string
	report  string // the error report's temporary file
}

// jobView is what the page shows of a job.
type jobView struct {
	ID, Kind, File string
	DryRun, Done   bool
	Rows, Percent  int64
	Summary        csvio.Summary
	Err            string
	Started        time.Time
}

func (j *importJob) view() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := jobView{ID: j.ID, Kind: j.Kind, File: j.File, DryRun: j.DryRun, Done: j.done, Rows: j.rows.Load(),
		Summary: j.summary, Err: j.err, Started: j.Started}
	if j.Size > 0 {
		v.Percent = min(100, j.read.Load()*100/j.Size)
	}
	if j.done {
		v.Percent = 100
	}
	return v
}

// importJobs are the imports of this process, oldest first.
type importJobs struct {
	mu   sync.Mutex
	jobs []*importJob
}

func (js *importJobs) add(j *importJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.jobs = append(js.jobs, j)
	// Forget the oldest finished ones, and their reports.
	for len(js.jobs) > keptJobs {
		i := slices.IndexFunc(js.jobs, func(o *importJob) bool { o.mu.Lock(); defer o.mu.Unlock(); return o.done })
		if i < 0 {
			break
		}
		old := js.jobs[i]
		old.mu.Lock()
		if old.report != "" {
			_ = os.Remove(old.report)
		}
		old.mu.Unlock()
		js.jobs = slices.Delete(js.jobs, i, i+1)
	}
}

// get returns tenant's job id.
func (js *importJobs) get(tenant, id string) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.jobs {
		if j.ID == id && j.Tenant == tenant {
			return j
		}
	}
	return nil
}

// of returns tenant's jobs, newest first.
func (js *importJobs) of(tenant string) []jobView {
	js.mu.Lock()
	defer js.mu.Unlock()
	var out []jobView
	for i := len(js.jobs) - 1; i >= 0; i-- {
		if js.jobs[i].Tenant == tenant {
			out = append(out, js.jobs[i].view())
		}
	}
	return out
}

// engine is csvio on the member's own API calls.
func (s *Service) engine() *csvio.Engine {
	return &csvio.Engine{Catalog: s.deps.Catalog, Inventory: s.deps.Inventory, Orders: s.deps.Orders, Stores: s.deps.Store,
		Identity: s.deps.Identity, Log: s.log}
}

// transferData is the page.
type transferData struct {
	Jobs        []jobView
	ImportKinds []page.Option
	ExportKinds []csvio.Kind
	Exports     []identityapi.ExportAudit
	Error       string
	MaxFile     string
}

func csvKindOptions(ks []csvio.Kind) []page.Option {
	var out []page.Option
	for _, k := range ks {
		out = append(out, page.Option{Value: string(k), Label: string(k)})
	}
	return out
}

func (s *Service) transferPage(w http.ResponseWriter, r *http.Request) {
	s.renderTransfer(w, r, http.StatusOK, "")
}

func (s *Service) renderTransfer(w http.ResponseWriter, r *http.Request, status int, problem string) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !hasRole(p, transferRoles) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	tenant, _ := tenancy.ID(ctx)
	audit, err := s.deps.Identity.Exports(ctx, "")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v, err := s.view(r, "Import / export")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = &transferData{Jobs: s.jobs.of(tenant), ImportKinds: csvKindOptions(csvio.ImportKinds), ExportKinds: csvio.ExportKinds,
		Exports: audit.Items, Error: problem, MaxFile: megabytes(maxImportFile)}
	v.Form = page.EmptyForm(nil)
	s.kit.Render(w, r, status, "import-export", v)
}

// startImport streams the upload to a temporary file, starts the import
// in the background and shows its page.
func (s *Service) startImport(w http.ResponseWriter, r *http.Request) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !hasRole(p, transferRoles) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	tenant, _ := tenancy.ID(ctx)
	j, opt, tmp, problem := s.receiveImport(w, r)
	if problem != "" {
		if tmp != "" {
			_ = os.Remove(tmp)
		}
		s.renderTransfer(w, r, http.StatusUnprocessableEntity, problem)
		return
	}
	j.ID, j.Tenant, j.Started = kit.NewID(), tenant, time.Now()
	s.jobs.add(j)
	// The import outlives the request, as the member who started it.
	go s.runImport(context.WithoutCancel(ctx), j, opt, tmp)
	s.kit.Redirect(w, r, transferPath+"/imports/"+j.ID, "")
}

// receiveImport reads the form: the kind and options first, then the
// file, copied to a temporary file as it arrives.
func (s *Service) receiveImport(w http.ResponseWriter, r *http.Request) (*importJob, csvio.ImportOptions, string, string) {
	j := &importJob{}
	var opt csvio.ImportOptions
	r.Body = http.MaxBytesReader(w, r.Body, maxImportFile+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, opt, "", "The form did not arrive whole: choose the file and send it again."
	}
	tmp := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, opt, tmp, fmt.Sprintf("The file is larger than %s: import it with mercato import, or in parts.", megabytes(maxImportFile))
		}
		if err != nil {
			return nil, opt, tmp, "The form did not arrive whole: choose the file and send it again."
		}
		switch part.FormName() {
		case "kind":
			v, _ := io.ReadAll(io.LimitReader(part, 64))
			j.Kind = string(v)
		case "dry_run":
			opt.DryRun, j.DryRun = true, true
		case "invite":
			opt.Invite = true
		case "file":
			if tmp != "" {
				// One file an import: a second would be a temporary file
				// nobody imports (the caller removes the first).
				return nil, opt, tmp, "Send one file at a time."
			}
			_, params, _ := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
			j.File = params["filename"]
			f, err := s.importTemp("mercato-import-*.csv")
			if err != nil {
				return nil, opt, tmp, "The file could not be kept for the import: try again."
			}
			tmp = f.Name()
			n, err := io.Copy(f, part)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if errors.As(err, &mbe) {
				return nil, opt, tmp, fmt.Sprintf("The file is larger than %s: import it with mercato import, or in parts.", megabytes(maxImportFile))
			}
			if err != nil {
				return nil, opt, tmp, "The form did not arrive whole: choose the file and send it again."
			}
			j.Size = n
		}
	}
	if !slices.Contains(csvio.ImportKinds, csvio.Kind(j.Kind)) {
		return nil, opt, tmp, "Choose what the file holds: products, customers or stock."
	}
	if tmp == "" || j.Size == 0 {
		return nil, opt, tmp, "Choose a CSV file to import."
	}
	return j, opt, tmp, ""
}

// runImport imports the file and keeps the outcome and the error report.
func (s *Service) runImport(ctx context.Context, j *importJob, opt csvio.ImportOptions, path string) {
	defer os.Remove(path)
	finish := func(sum csvio.Summary, err error, report string) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.done, j.summary, j.report = true, sum, report
		if err != nil {
			j.err = err.Error()
		}
	}
	in, err := os.Open(path)
	if err != nil {
		finish(csvio.Summary{}, err, "")
		return
	}
	defer in.Close()
	rep, err := s.importTemp("mercato-import-errors-*.csv")
	if err != nil {
		finish(csvio.Summary{}, err, "")
		return
	}
	opt.Report = rep
	opt.Progress = func(rows int64) { j.rows.Store(rows) }
	sum, err := s.engine().Import(ctx, csvio.Kind(j.Kind), &countingReader{r: in, n: &j.read}, opt)
	if cerr := rep.Close(); err == nil {
		err = cerr
	}
	finish(sum, err, rep.Name())
}

// countingReader counts into n the bytes read through it: the share of
// the file the page shows.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (s *Service) job(w http.ResponseWriter, r *http.Request) (*importJob, bool) {
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return nil, false
	}
	if !hasRole(p, transferRoles) {
		s.kit.Fail(w, r, errForbidden)
		return nil, false
	}
	tenant, _ := tenancy.ID(ctx)
	j := s.jobs.get(tenant, r.PathValue("id"))
	if j == nil {
		s.kit.NotFound(w, r)
		return nil, false
	}
	return j, true
}

// importPage shows an import's progress, then its outcome.
func (s *Service) importPage(w http.ResponseWriter, r *http.Request) {
	j, ok := s.job(w, r)
	if !ok {
		return
	}
	v, err := s.view(r, "Import of "+j.File)
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	v.Data = j.view()
	s.kit.Render(w, r, http.StatusOK, "import", v)
}

// importErrors downloads a finished import's error report.
func (s *Service) importErrors(w http.ResponseWriter, r *http.Request) {
	j, ok := s.job(w, r)
	if !ok {
		return
	}
	j.mu.Lock()
	path := j.report
	j.mu.Unlock()
	if path == "" {
		s.kit.NotFound(w, r)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		s.kit.NotFound(w, r)
		return
	}
	defer f.Close()
	page.Download(w, "import-errors.csv", "text/csv; charset=utf-8")
	_, _ = io.Copy(w, f)
}

// exportCSV streams an export as a download. ?unmasked=1 asks for personal
// data, which the identity service grants to owners and managers.
//
// A GET is not covered by the cross-origin protection of forms, so a link
// on another site could start an export in a signed-in manager's browser
// (a file of personal data in their downloads, an entry in the audit log
// that nobody chose): a navigation the browser marks as cross-site is
// refused. Links on the admin's pages, bookmarks and typed addresses are
// same-origin or "none".
func (s *Service) exportCSV(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	ctx, p, err := s.kit.Authed(r, "staff")
	if err != nil {
		s.kit.Fail(w, r, err)
		return
	}
	if !hasRole(p, transferRoles) {
		s.kit.Fail(w, r, errForbidden)
		return
	}
	kind := csvio.Kind(r.PathValue("kind"))
	if !slices.Contains(csvio.ExportKinds, kind) {
		s.kit.NotFound(w, r)
		return
	}
	// The download starts with the first bytes: an export that fails
	// before them (the audit log cannot record it) is answered as an
	// error page. Once rows are written the status is sent: a failure
	// later shows as a cut file, and is logged.
	dw := &downloadWriter{w: w, name: fmt.Sprintf("%s-%s.csv", kind, time.Now().UTC().Format("20060102-150405"))}
	if _, err := s.engine().Export(ctx, kind, dw, csvio.ExportOptions{Unmasked: r.URL.Query().Get("unmasked") == "1", Via: "admin"}); err != nil {
		s.log.ErrorContext(ctx, "export", "kind", kind, "err", err)
		if !dw.started {
			s.kit.Fail(w, r, err)
		}
	}
}

// downloadWriter makes w a CSV download at its first write.
type downloadWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (d *downloadWriter) Write(p []byte) (int, error) {
	if !d.started {
		d.started = true
		page.Download(d.w, d.name, "text/csv; charset=utf-8")
	}
	return d.w.Write(p)
}
