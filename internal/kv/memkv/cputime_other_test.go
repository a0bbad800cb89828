//go:build !linux

package memkv_test

import "testing"

// cpuMeter reports nothing where the thread's CPU time is not available.
type cpuMeter struct{}

// startCPU returns a meter that reports nothing.
func startCPU(*testing.B) *cpuMeter { return &cpuMeter{} }

// stop does nothing.
func (*cpuMeter) stop(*testing.B) {}
