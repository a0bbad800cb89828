package memkv_test

import (
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadCPU returns the CPU time the calling thread has used, so that a
// benchmark on a shared, loaded machine can report the time it ran rather
// than the time it waited for a core. The caller must hold its thread
// (runtime.LockOSThread).
func threadCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_THREAD, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuMeter reports a benchmark's CPU time per operation on its thread as
// the metric cpu-ns/op, beside the wall time.
type cpuMeter struct{ start time.Duration }

// startCPU locks the benchmark to its thread and starts the meter; call it
// right before the timed loop.
func startCPU(b *testing.B) *cpuMeter {
	runtime.LockOSThread()
	b.Cleanup(runtime.UnlockOSThread)
	return &cpuMeter{start: threadCPU(b)}
}

// stop reports the metric for the b.N operations run since startCPU.
func (m *cpuMeter) stop(b *testing.B) {
	b.ReportMetric(float64(threadCPU(b)-m.start)/float64(b.N), "cpu-ns/op")
}
