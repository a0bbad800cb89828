package server_test

import (
	"bufio"
	"bytes"
	"context"
	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/server"
	"github.com/stretchr/testify/assert"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The Node tests drive a livedb server with the official Convex client,
// convex@1.51.0 (pinned in testdata/convexclient/package.json and its
// package-lock.json; the README names the same version). Each script in
// testdata/convexclient prints OK and exits 0 when its checks pass.

// convexClientVersion is the pinned version of the convex npm package.
const convexClientVersion = "1.51.0"

// clientDir is the Node project of the client tests.
const clientDir = "testdata/convexclient"

// needNode returns the node binary, or skips the test (fails it under
// CI=true) when node or the installed client is missing, with the command
// that installs it.
func needNode(t *testing.T) string {
	t.Helper()
	const fix = "install Node.js, then run: (cd server/" + clientDir + " && npm ci)"
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not on PATH; "+fix)
	}
	pkg := filepath.Join(clientDir, "node_modules", "convex", "package.json")
	b, err := os.ReadFile(pkg)
	if err != nil {
		missing(t, "the Convex client is not installed ("+pkg+"); "+fix)
	}
	if !bytes.Contains(b, []byte(`"version": "`+convexClientVersion+`"`)) {
		missing(t, "the installed Convex client is not version "+convexClientVersion+"; "+fix)
	}
	return node
}

// missing skips a test whose tool is missing, or fails it in CI, where
// .ci/run installs the tools and a skip would hide a broken setup.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (CI=true: the Node tests must run)", why)
	}
	t.Skip(why)
}

// runNode runs a script of testdata/convexclient against url. Each line it
// prints on stdout goes to onLine (nil: ignored), with a writer to the
// script's stdin. It fails the test unless the script prints OK and exits
// 0, showing its output.
func runNode(t *testing.T, script, url string, onLine func(line string, stdin io.Writer), args ...string) {
	t.Helper()
	node := needNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), testWait*2)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, append([]string{script, url}, args...)...)
	cmd.Dir = clientDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node %s: %v", script, err)
	}
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if onLine != nil {
			onLine(line, stdin)
		}
	}
	err = cmd.Wait()
	out := strings.Join(lines, "\n")
	if ctx.Err() != nil {
		t.Fatalf("node %s: no result after %v\nstdout:\n%s\nstderr:\n%s", script, testWait*2, out, stderr.String())
	}
	if err != nil || len(lines) == 0 || lines[len(lines)-1] != "OK" {
		t.Fatalf("node %s failed (%v)\nstdout:\n%s\nstderr:\n%s", script, err, out, stderr.String())
	}
}

func TestConvexClient_Live(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, serverOptionsForClients())
	runNode(t, "live.mjs", hs.URL, nil)
}

// serverOptionsForClients are the options of the servers the Node tests
// drive.
func serverOptionsForClients() server.Options {
	return server.Options{AdminKey: testAdminKey}
}

func TestConvexClient_Paginate(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, serverOptionsForClients())
	runNode(t, "paginate.mjs", hs.URL, nil)
}

func TestConvexClient_Refused(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, serverOptionsForClients())
	runNode(t, "refused.mjs", hs.URL, nil)
}

func TestConvexClient_Auth(t *testing.T) {
	db := mustOpenMemory(t)
	_, hs := MustServe(t, db, serverOptionsForClients())
	runNode(t, "auth.mjs", hs.URL, nil, testAdminKey)
}

// restartable is a server of a bbolt database on a fixed loopback
// address that can be stopped and started again, database included.
type restartable struct {
	t    *testing.T
	path string
	addr string
	db   *livedb.DB
	srv  *server.Server
	hs   *http.Server
	done chan struct{}
}

func (r *restartable) start() {
	r.t.Helper()
	db, err := livedb.Open(r.path, testSchema(), &livedb.Options{NoSync: true})
	if err != nil {
		r.t.Fatalf("open: %v", err)
	}
	srv, err := server.New(db, mustRegistry(r.t), serverOptionsForClients())
	if err != nil {
		r.t.Fatal(err)
	}
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatalf("listen on %s: %v", addr, err)
	}
	r.addr = ln.Addr().String()
	r.db, r.srv, r.hs, r.done = db, srv, &http.Server{Handler: srv}, make(chan struct{})
	go func(hs *http.Server, done chan struct{}) {
		_ = hs.Serve(ln)
		close(done)
	}(r.hs, r.done)
}

func (r *restartable) stop() {
	r.t.Helper()
	if r.srv == nil {
		return
	}
	_ = r.hs.Close()
	<-r.done
	_ = r.srv.Close()
	if err := r.db.Close(); err != nil {
		r.t.Errorf("close db: %v", err)
	}
	r.srv = nil
}

func TestConvexClient_ReconnectAfterRestart(t *testing.T) {
	r := &restartable{t: t, path: filepath.Join(t.TempDir(), "state.db")}
	r.start()
	t.Cleanup(r.stop)
	restarted := false
	runNode(t, "reconnect.mjs", "http://"+r.addr, func(line string, stdin io.Writer) {
		if line != "RESTART" {
			return
		}
		r.stop()
		r.start()
		restarted = true
		_, _ = io.WriteString(stdin, "GO\n")
	})
	if !restarted {
		t.Fatal("the script never asked for the restart")
	}
	assert.Len(t, mustCollect(t, r.db), 2, "one task before the restart, one after: none twice")
}
