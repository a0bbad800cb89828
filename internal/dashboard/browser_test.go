package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/livedb-go/livedb"
)

// browserStep bounds one step of the browser test (a page load, a wait
// for the page to show something). It is not a speed limit: Chromium
// starts in seconds, but this machine may be busy; the bound turns a page
// that never shows what is awaited into a failure that names it.
const browserStep = 90 * time.Second

// findChromium returns the path of a Chromium or Chrome to drive:
// $LIVEDB_CHROMIUM, else the first of chromium, chromium-browser and
// google-chrome on PATH. Without one, the test is skipped with the command
// that installs it, or fails under CI=true, where .ci/run installs it.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("LIVEDB_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "no Chromium to drive: install it (Debian: sudo apt-get install -y chromium) or set LIVEDB_CHROMIUM to a Chrome binary"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + "; under CI=true the browser test must run")
	}
	t.Skip(msg)
	return ""
}

// testOutDir returns the folder for the test's screenshots:
// $LIVEDB_TEST_OUT/<test name> when set (kept after the test), else a
// temporary folder.
func testOutDir(t *testing.T) string {
	t.Helper()
	base := os.Getenv("LIVEDB_TEST_OUT")
	if base == "" {
		return t.TempDir()
	}
	dir := filepath.Join(base, strings.ReplaceAll(t.Name(), "/", "_"))
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// browser drives one Chromium tab and collects the page's JavaScript
// exceptions and console errors.
type browser struct {
	t   *testing.T
	ctx context.Context
	out string

	mu     sync.Mutex
	errors []string // guarded by mu
}

// mustBrowser starts a headless Chromium with a fresh profile; it is
// stopped when the test ends.
func mustBrowser(t *testing.T) *browser {
	t.Helper()
	path := findChromium(t)
	b := &browser{t: t, out: testOutDir(t)}
	// Chromium sometimes crashes as it starts when the machine is busy (seen
	// once in go test -race ./..., with every package's tests running at
	// once; it started on the next try): a start is tried up to
	// browserStarts times, each with a fresh profile, before the test fails.
	var errs []error
	for range browserStarts {
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(t.TempDir()),
			chromedp.WindowSize(1360, 860),
		)
		ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.listen))
		// The first Run starts the browser; it must not have a timeout (a
		// timeout would stop the browser), so it runs no page action.
		if err := chromedp.Do(ctx); err != nil {
			cancel()
			cancelAlloc()
			errs = append(errs, err)
			t.Logf("start Chromium %s, try %d of %d: %v", path, len(errs), browserStarts, err)
			continue
		}
		t.Cleanup(func() {
			cancel()
			cancelAlloc()
		})
		b.ctx = ctx
		return b
	}
	t.Fatalf("start Chromium %s: %d tries failed, the last: %v", path, len(errs), errs[len(errs)-1])
	return nil
}

// browserStarts is how many times mustBrowser tries to start Chromium.
const browserStarts = 3

// listen records the page's uncaught exceptions and console.error calls.
func (b *browser) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range e.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console.error: " + strings.Join(parts, " ")
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// pageErrors returns what listen recorded.
func (b *browser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}

// step runs actions within browserStep; on failure it saves a screenshot
// and fails the test, naming what the step awaited.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStep)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.screenshot("failed")
		b.t.Fatalf("browser: %s: %v (page errors: %q)", what, err, b.pageErrors())
	}
}

// waitFor polls a JavaScript predicate until it is true.
func (b *browser) waitFor(what, predicate string) {
	b.t.Helper()
	b.step(what, chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](predicate, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(0))(ctx, t)
		return chromedp.Void{}, err
	}))
}

// eval evaluates a JavaScript expression and decodes its value into out.
func (b *browser) eval(what, expr string, out any) {
	b.t.Helper()
	b.step(what, chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		raw, err := chromedp.Evaluate[[]byte](expr)(ctx, t)
		if err != nil {
			return chromedp.Void{}, err
		}
		return chromedp.Void{}, json.Unmarshal(raw, out)
	}))
}

// choose sets a select's value and fires its change event, as a user
// picking an option does.
func choose(sel, value string) chromedp.Action[chromedp.Void] {
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.value = %q; e.dispatchEvent(new Event("change")); return e.value === %q; })()`, sel, value, value)
	return chromedp.Action[chromedp.Void](func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		ok, err := chromedp.Evaluate[bool](js)(ctx, t)
		if err == nil && !ok {
			err = fmt.Errorf("%s has no option %q", sel, value)
		}
		return chromedp.Void{}, err
	})
}

// screenshot saves the viewport as <out>/<name>.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserStep)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.out, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	b.t.Logf("screenshot: %s", path)
}

// rowsText is a JavaScript expression: the text of each document row.
const rowsText = `[...document.querySelectorAll("#doc-rows tr.doc")].map(r => r.textContent)`

// TestDashboard_Browser drives the dashboard in headless Chromium as an
// admin would: enter the key (a wrong one first), browse a table page by
// page, filter it by an index range, watch the live query change after a
// mutation, follow the change feed, see both come back after a broken
// connection, run a function from its form, and look at the health view,
// saving a screenshot of each.
func TestDashboard_Browser(t *testing.T) {
	b := mustBrowser(t) // first: without Chromium, skip before any work
	f := mustFixture(t)
	seed := make([]livedb.Doc, 120)
	for i := range seed {
		seed[i] = livedb.Doc{
			"text":     fmt.Sprintf("task %03d", i),
			"done":     i%10 == 0,
			"priority": float64(i%7) + 0.5,
			"n":        int64(i) * 1_000_000_007,
			"blob":     []byte{byte(i), 0xca, 0xfe},
		}
	}
	mustInsert(t, f.db, "tasks", seed...)
	mustInsert(t, f.db, "notes", livedb.Doc{"body": "remember the milk"})

	// The page asks for the key; a wrong one is refused.
	b.step("open the page", chromedp.Navigate(f.url("/")), chromedp.WaitVisible("#key"))
	b.screenshot("1-login")
	b.step("type a wrong key", chromedp.SendKeys("#key", "not-the-key"), chromedp.Click("#login-button"))
	b.waitFor("the wrong key refused", `document.querySelector("#login-error").textContent === "Wrong admin key."`)
	b.step("type the key", chromedp.SendKeys("#key", testKey), chromedp.Click("#login-button"))
	b.step("the tables after the key", chromedp.WaitVisible(`#table-list a[data-table="tasks"]`))
	var count string
	b.eval("the count of tasks", `document.querySelector('#table-list a[data-table="tasks"] .count').textContent`, &count)
	assert.Equal(t, "120", count)
	var stored string
	b.eval("the stored key", `sessionStorage.getItem("livedb.adminKey")`, &stored)
	assert.Equal(t, testKey, stored, "the key is kept in sessionStorage")

	// Browse: the first page of 50 by creation time, then the next.
	b.step("open tasks", chromedp.Click(`#table-list a[data-table="tasks"]`))
	b.waitFor("the first page", `document.querySelectorAll("#doc-rows tr.doc").length === 50`)
	var rows []string
	b.eval("the rows", rowsText, &rows)
	require.Len(t, rows, 50)
	assert.Contains(t, rows[0], `task 000`)
	assert.Contains(t, rows[1], `1000000007n`, "an Int64 shows as 1000000007n")
	assert.Contains(t, rows[1], `bytes[3] 0x01cafe`, "bytes show as hex")
	b.screenshot("2-browse")
	b.step("next page", chromedp.Click("#page-next"))
	b.waitFor("the second page", `document.querySelector("#doc-rows tr.doc") && document.querySelector("#doc-rows tr.doc").textContent.includes("task 050")`)
	b.step("previous page", chromedp.Click("#page-prev"))
	b.waitFor("back to the first page", `document.querySelector("#doc-rows tr.doc").textContent.includes("task 000")`)

	// Filter by an index range: done == true, newest first.
	b.step("choose by_done, done = true",
		choose("#q-index", "by_done"),
		choose(`#q-range select[data-col="done"][data-side="lo"]`, "eq"),
		chromedp.SendKeys(`#q-range input[data-col="done"][data-side="loValue"]`, "true"),
		choose("#q-order", "desc"),
		chromedp.Click("#q-apply"))
	b.waitFor("the done tasks", `document.querySelectorAll("#doc-rows tr.doc").length === 12 && document.querySelector("#doc-rows tr.doc").textContent.includes("task 110")`)

	// The page is a live query: a mutation in its range shows up.
	b.waitFor("the live status", `document.querySelector("#live-status").textContent.startsWith("live")`)
	ids := mustInsert(t, f.db, "tasks", livedb.Doc{"text": "arrived live", "done": true, "priority": 1.0, "n": int64(-42)})
	b.waitFor("the live query updated", `document.querySelectorAll("#doc-rows tr.doc").length === 13 && document.querySelector("#doc-rows tr.doc").textContent.includes("arrived live")`)
	b.eval("the rows", rowsText, &rows)
	assert.Contains(t, rows[0], "-42n")
	b.screenshot("3-live-query")

	// A broken connection (a proxy, a server restart) is opened again: the
	// live query comes back with what was committed meanwhile.
	f.srv.CloseClientConnections()
	mustInsert(t, f.db, "tasks", livedb.Doc{"text": "after a break", "done": true, "priority": 1.0})
	b.waitFor("the live query back after a broken connection", `document.querySelectorAll("#doc-rows tr.doc").length === 14 && document.querySelector("#doc-rows tr.doc").textContent.includes("after a break")`)

	// The change feed logs the next commits.
	b.step("open the change feed", chromedp.Click(`#nav a[data-view="changes"]`))
	b.waitFor("the feed follows", `document.querySelector("#changes-status").textContent.startsWith("following")`)
	err := f.db.Mutation(context.Background(), func(m *livedb.MutationCtx) error {
		return m.DB.Patch(ids[0], livedb.Doc{"text": "patched live", "priority": 2.0})
	})
	require.NoError(t, err)
	b.waitFor("the update in the log", `document.querySelector("#change-log li .op-update") !== null`)
	var entry string
	b.eval("the log entry", `document.querySelector("#change-log li").textContent`, &entry)
	assert.Contains(t, entry, string(ids[0]))
	assert.Contains(t, entry, `text: "arrived live" → "patched live"`)
	mustInsert(t, f.db, "notes", livedb.Doc{"body": "a second note"})
	b.waitFor("the insert in the log", `document.querySelectorAll("#change-log li").length === 2`)

	// After a broken connection the feed resumes where it stopped: the
	// change committed meanwhile shows once, nothing shows twice.
	f.srv.CloseClientConnections()
	mustInsert(t, f.db, "notes", livedb.Doc{"body": "while the feed was away"})
	b.waitFor("the feed resumed", `document.querySelectorAll("#change-log li").length === 3 && document.querySelector("#change-log li").textContent.includes("while the feed was away")`)
	b.screenshot("4-change-feed")

	// Run a mutation from its form; the internal function cannot be run.
	b.step("open the functions", chromedp.Click(`#nav a[data-view="functions"]`), chromedp.WaitVisible(`#fn-list a[data-fn="tasks:add"]`))
	b.step("open tasks:purge", chromedp.Click(`#fn-list a[data-fn="tasks:purge"]`))
	b.waitFor("the internal function's form", `document.querySelector("#fn-name").textContent === "tasks:purge" && document.querySelector("#fn-run").disabled`)
	b.step("open tasks:add", chromedp.Click(`#fn-list a[data-fn="tasks:add"]`))
	b.waitFor("the form of tasks:add", `document.querySelector("#fn-name").textContent === "tasks:add" && !document.querySelector("#fn-run").disabled`)
	b.step("run tasks:add",
		chromedp.SetValue("#fn-args", `{"text": "from the form", "priority": 7}`),
		chromedp.Click("#fn-run"))
	b.waitFor("the result", `document.querySelector("#fn-result").textContent !== ""`)
	var result string
	b.eval("the result", `document.querySelector("#fn-result").textContent`, &result)
	var newID string
	require.NoError(t, json.Unmarshal([]byte(result), &newID), "the result is the new document's ID: %s", result)
	err = f.db.Query(context.Background(), func(q *livedb.QueryCtx) error {
		d, ok, err := q.DB.Get(livedb.ID(newID))
		assert.True(t, ok, "the form's mutation inserted %s", newID)
		assert.Equal(t, "from the form", d["text"])
		return err
	})
	require.NoError(t, err)
	b.screenshot("5-functions")

	// A query with an Int64 result, and a refused call's message.
	b.step("open tasks:count", chromedp.Click(`#fn-list a[data-fn="tasks:count"]`))
	b.waitFor("the form of tasks:count", `document.querySelector("#fn-name").textContent === "tasks:count"`)
	b.step("run tasks:count with a wrong argument", chromedp.SetValue("#fn-args", `{"done": "yes"}`), chromedp.Click("#fn-run"))
	b.waitFor("the argument error", `document.querySelector("#fn-error").textContent.includes("ArgumentValidationError")`)
	b.step("run tasks:count", chromedp.SetValue("#fn-args", `{"done": true}`), chromedp.Click("#fn-run"))
	b.waitFor("the count", `document.querySelector("#fn-result").textContent === "14n"`)

	// Health shows the counters.
	b.step("open health", chromedp.Click(`#nav a[data-view="health"]`))
	b.waitFor("the health cards", `document.querySelector('#health-cards .card[data-label="Commits"] .value') !== null`)
	var commits string
	b.eval("the commits", `document.querySelector('#health-cards .card[data-label="Commits"] .value').textContent`, &commits)
	assert.Equal(t, fmt.Sprint(f.db.Stats().Commits), commits)
	b.screenshot("6-health")

	// Lock forgets the key.
	b.step("lock", chromedp.Click("#lock"), chromedp.WaitVisible("#key"))
	b.eval("the stored key", `sessionStorage.getItem("livedb.adminKey") || ""`, &stored)
	assert.Empty(t, stored, "Lock forgets the key")

	assert.Empty(t, b.pageErrors(), "the page threw or logged errors")
}
