package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/livedb-go/livedb/server"
)

// percentiles reports the p50 and p99 of ds, in microseconds, as metrics
// of b.
func percentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	at := func(p float64) float64 {
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds())
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.99), "p99-µs")
}

// BenchmarkServer_MutationToUpdate measures, on loopback, the time from a
// client sending a mutation over its WebSocket to another client
// receiving the Transition that shows it: the commit (with its fsync on
// bbolt), the re-run of the subscription, and both sessions' messages.
func BenchmarkServer_MutationToUpdate(b *testing.B) {
	for _, backend := range []string{"memory", "bbolt"} {
		b.Run(backend, func(b *testing.B) {
			db := benchDB(b, backend)
			_, hs := MustServe(b, db, server.Options{})
			watcher := mustDialWS(b, hs.URL, "watcher")
			q := watcher.add("tasks:latest", map[string]any{})
			watcher.mustResult(q, "the first result", func(map[string]any) bool { return true })
			writer := mustDialWS(b, hs.URL, "writer")
			lat := make([]time.Duration, 0, b.N)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				text := strconv.Itoa(i)
				start := time.Now()
				writer.mutate(i, "tasks:add", map[string]any{"text": text})
				watcher.mustResult(q, "the update", func(r map[string]any) bool { return r["value"] == text })
				lat = append(lat, time.Since(start))
				writer.mustRecvType("MutationResponse")
				i++
			}
			percentiles(b, lat)
		})
	}
}

// BenchmarkServer_Subscribers measures one server holding n WebSocket
// sessions that each watch a query, while mutations flow: for each
// mutation (over HTTP), the time until every one of the n clients has
// received the Transition that shows it. The clients run in a child
// process (the test binary again, TestFanoutClients), so that each
// process stays under its file descriptor limit.
func BenchmarkServer_Subscribers(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			db := benchDB(b, "memory")
			srv, hs := MustServe(b, db, server.Options{WriteTimeout: 5 * time.Minute})
			before := heapInUse()
			child := startFanoutClients(b, hs.URL, n)
			if got := srv.Sessions(); got != n {
				b.Fatalf("%d sessions, want %d", got, n)
			}
			heap := float64(heapInUse()-before) / float64(n) / 1024
			goroutines := float64(runtime.NumGoroutine()) / float64(n)
			lat := make([]time.Duration, 0, b.N)
			i := 0
			for b.Loop() {
				text := strconv.Itoa(i)
				start := time.Now()
				status, m := postBench(b, hs.URL, text)
				if status != http.StatusOK {
					b.Fatalf("mutation: %d %v", status, m)
				}
				child.waitAll(b, text)
				lat = append(lat, time.Since(start))
				i++
			}
			percentiles(b, lat)
			b.ReportMetric(float64(srv.Sessions()), "sessions")
			// Measured before the mutations; reported here, as b.Loop
			// resets what is reported before it.
			b.ReportMetric(heap, "heap-KiB/session")
			b.ReportMetric(goroutines, "goroutines/session")
		})
	}
}

func postBench(b *testing.B, url, text string) (int, map[string]any) {
	resp, err := http.Post(url+"/api/mutation", "application/json", strings.NewReader(call("tasks:add", `{"text":"`+text+`"}`)))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// fanoutChild is the client process of BenchmarkServer_Subscribers.
type fanoutChild struct {
	lines chan string
}

// startFanoutClients starts n clients in a child process and waits until
// each has its first result.
func startFanoutClients(b *testing.B, url string, n int) *fanoutChild {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestFanoutClients$", "-test.timeout=0")
	cmd.Env = append(os.Environ(), "LIVEDB_FANOUT_URL="+url, "LIVEDB_FANOUT_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := &fanoutChild{lines: make(chan string, 1024)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	c.waitLine(b, "READY")
	return c
}

// waitLine waits for the child to print want.
func (c *fanoutChild) waitLine(b *testing.B, want string) {
	b.Helper()
	timer := time.NewTimer(5 * time.Minute)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				b.Fatalf("the client process ended before %q", want)
			}
			if l == want {
				return
			}
			if strings.HasPrefix(l, "FAIL") {
				b.Fatalf("client process: %s", l)
			}
		case <-timer.C:
			b.Fatalf("the client process did not print %q", want)
		}
	}
}

// waitAll waits until every client has seen the value text.
func (c *fanoutChild) waitAll(b *testing.B, text string) { c.waitLine(b, "ALL "+text) }

// TestFanoutClients is the client process of BenchmarkServer_Subscribers:
// it does nothing unless started by it.
func TestFanoutClients(t *testing.T) {
	url := os.Getenv("LIVEDB_FANOUT_URL")
	if url == "" {
		t.Skip("the client process of BenchmarkServer_Subscribers")
	}
	n, _ := strconv.Atoi(os.Getenv("LIVEDB_FANOUT_N"))
	var mu sync.Mutex
	seen := map[string]int{} // value -> clients that have it
	var ready atomic.Int64
	report := func(v string) {
		mu.Lock()
		seen[v]++
		all := seen[v] == n
		if all {
			delete(seen, v)
		}
		mu.Unlock()
		if all {
			fmt.Printf("ALL %s\n", v)
		}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	// Dial in batches, so that the listen backlog never overflows.
	sem := make(chan struct{}, 64)
	for i := range n {
		sem <- struct{}{}
		conn, _, err := websocket.Dial(ctx, syncURL(url), nil)
		<-sem
		if err != nil {
			fmt.Printf("FAIL dial %d: %v\n", i, err)
			return
		}
		conn.SetReadLimit(1 << 20)
		msgs := []string{
			`{"type":"Connect","sessionId":"c` + strconv.Itoa(i) + `","connectionCount":0,"lastCloseReason":null,"clientTs":0}`,
			`{"type":"ModifyQuerySet","baseVersion":0,"newVersion":1,"modifications":[{"type":"Add","queryId":0,"udfPath":"tasks:latest","args":[{}]}]}`,
		}
		for _, m := range msgs {
			if err := conn.Write(ctx, websocket.MessageText, []byte(m)); err != nil {
				fmt.Printf("FAIL send %d: %v\n", i, err)
				return
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			for {
				_, b, err := conn.Read(ctx)
				if err != nil {
					return
				}
				var tr struct {
					Type          string `json:"type"`
					Modifications []struct {
						Value any `json:"value"`
					} `json:"modifications"`
				}
				if json.Unmarshal(b, &tr) != nil || tr.Type != "Transition" {
					continue
				}
				for _, m := range tr.Modifications {
					if first {
						first = false
						ready.Add(1)
						continue
					}
					if s, ok := m.Value.(string); ok {
						report(s)
					}
				}
			}
		}()
	}
	for ready.Load() < int64(n) {
		time.Sleep(10 * time.Millisecond) // the parent bounds the wait
	}
	fmt.Println("READY")
	wg.Wait()
}

// heapInUse is the heap in use after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
