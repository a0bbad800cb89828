package livedb

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// cutLog is a process's view of a memLog whose lease calls can be cut, as
// when the process is partitioned from the server or killed.
type cutLog struct {
	*memLogView
	cut atomic.Bool
}

var errCut = errors.New("test: cut off from the log")

func (c *cutLog) tryLease(ctx context.Context, role, holder string, ttl time.Duration) (bool, error) {
	if c.cut.Load() {
		return false, errCut
	}
	return c.memLogView.tryLease(ctx, role, holder, ttl)
}

// TestShared_SingletonOneHolderAndTakeover: of 3 processes running the
// same role, exactly one runs it at a time; when the holder is cut off,
// it stops, and another takes over within about the lease's time.
func TestShared_SingletonOneHolderAndTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newMemLog()
		var running atomic.Int32
		var mu sync.Mutex
		var holders []int // who started the role, in order
		var startedAt []time.Time
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		views := make([]*cutLog, 3)
		var wg sync.WaitGroup
		for p := range views {
			views[p] = &cutLog{memLogView: &memLogView{memLog: l, ch: l.notify()}}
			db, err := openShared(context.Background(), views[p], newMemStore(), "", sharedTestSchema(), (*Options)(nil).withDefaults())
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			wg.Add(1)
			go func() {
				defer wg.Done()
				db.sharedSingleton(ctx, "scheduler", func(rctx context.Context) {
					if n := running.Add(1); n != 1 {
						t.Errorf("%d processes run the role at once", n)
					}
					mu.Lock()
					holders = append(holders, p)
					startedAt = append(startedAt, time.Now())
					mu.Unlock()
					<-rctx.Done()
					running.Add(-1)
				})
			}()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		mu.Lock()
		if len(holders) != 1 {
			t.Fatalf("after 1s, %d processes started the role, want 1", len(holders))
		}
		first, cutAt := holders[0], time.Now()
		mu.Unlock()
		views[first].cut.Store(true)
		time.Sleep(3 * leaseTTL)
		synctest.Wait()
		mu.Lock()
		if len(holders) != 2 || holders[1] == first {
			t.Fatalf("after the holder %d was cut off, holders %v; want one other process to take over", first, holders)
		}
		if d := startedAt[1].Sub(cutAt); d > 2*leaseTTL {
			t.Errorf("takeover after %v, want within 2×%v", d, leaseTTL)
		}
		mu.Unlock()
		cancel()
		wg.Wait()
	})
}
