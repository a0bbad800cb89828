//go:build unix

package livedb

import (
	"context"
	"crypto/sha256"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/livedb-go/livedb/v"
)

// BenchmarkCursor measures a cursor's encode and decode alone (the MAC,
// the fingerprint of a new Query, the base64 text), for a key like W5's:
// an index on a 32-character string, then _creationTime and _id. Each
// iteration makes a new Query, as each Paginate does.
func BenchmarkCursor(b *testing.B) {
	s := DefineSchema(Tables{"sessions": DefineTable(v.Object(v.Fields{"workflowId": v.String()})).Index("by_workflow", "workflowId")})
	db, err := OpenMemory(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	wf := strings.Repeat("w", 32)
	err = db.Mutation(ctx, func(mc *MutationCtx) error {
		for range 2 {
			if _, err := mc.DB.Insert("sessions", Doc{"workflowId": wf}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	err = db.Query(ctx, func(qc *QueryCtx) error {
		query := func() *Query {
			return qc.DB.Query("sessions").WithIndex("by_workflow", func(r IndexRange) IndexRange { return r.Eq("workflowId", wf) })
		}
		p, err := query().Paginate(PaginationOptions{NumItems: 1})
		if err != nil {
			return err
		}
		c, err := query().decodeCursor(p.ContinueCursor)
		if err != nil {
			return err
		}
		key := append([]byte(nil), c.key...)
		b.Logf("key of %d bytes, cursor of %d characters", len(key), len(p.ContinueCursor))
		b.Run("encode", func(b *testing.B) {
			b.ReportAllocs()
			defer cursorBenchCPU(b)()
			for b.Loop() {
				_ = query().encodeCursor(cursor{key: key})
			}
		})
		// A page's two cursors, as encodeCursors signs them: keys of one
		// workflow, as page 1 of W5's whole index has.
		key2 := append([]byte(nil), key...)
		key2[len(key2)-1]++
		b.Run("encodePair", func(b *testing.B) {
			b.ReportAllocs()
			defer cursorBenchCPU(b)()
			for b.Loop() {
				_, _ = query().encodeCursors(cursor{key: key}, cursor{key: key2})
			}
		})
		b.Run("decode", func(b *testing.B) {
			b.ReportAllocs()
			defer cursorBenchCPU(b)()
			for b.Loop() {
				if _, err := query().decodeCursor(p.ContinueCursor); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("query", func(b *testing.B) { // the Query alone, to subtract
			b.ReportAllocs()
			defer cursorBenchCPU(b)()
			for b.Loop() {
				_ = query()
			}
		})
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// cursorBenchCPU reports the process's CPU time per operation as
// cpu-ns/op, from the call to the call of the function it returns: on a
// shared machine it measures the work better than the wall clock does.
func cursorBenchCPU(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpu()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkCursorMAC measures the MAC of a 74-byte cursor body (W5's key
// and the 10-byte header) alone: version 1's HMAC-SHA256 against version
// 2's AES-CMAC.
func BenchmarkCursorMAC(b *testing.B) {
	cat := &catalog{secret: []byte(strings.Repeat("s", 32))}
	body := []byte(strings.Repeat("b", 74))
	for _, tc := range []struct {
		name    string
		version byte
	}{{"hmac", cursorVersionHMAC}, {"cmac", cursorVersionCMAC}} {
		b.Run(tc.name, func(b *testing.B) {
			body[0] = tc.version
			var buf [cursorMACLen]byte
			b.ReportAllocs()
			defer cursorBenchCPU(b)()
			for b.Loop() {
				macCursor(buf[:0], cat, body)
			}
		})
	}
}

// BenchmarkCursorFingerprint measures a fingerprint of a W5-like query
// description: hashed every time (as before the memo), and remembered.
func BenchmarkCursorFingerprint(b *testing.B) {
	desc := []byte(`sessions|by_workflow|eq("workflowId", "` + strings.Repeat("w", 32) + `")|asc|preds=0`)
	b.Run("sha256", func(b *testing.B) {
		b.ReportAllocs()
		defer cursorBenchCPU(b)()
		for b.Loop() {
			_ = sha256.Sum256(desc)
		}
	})
	b.Run("memo", func(b *testing.B) {
		b.ReportAllocs()
		defer cursorBenchCPU(b)()
		for b.Loop() {
			_ = fingerprintOfDescription(desc)
		}
	})
}

// BenchmarkCursorDescribe measures the description a fingerprint hashes,
// of a W5-like query (one equality on a 32-character string).
func BenchmarkCursorDescribe(b *testing.B) {
	r := IndexRange{}.Eq("workflowId", strings.Repeat("w", 32))
	var buf [describeBuf]byte
	b.ReportAllocs()
	defer cursorBenchCPU(b)()
	for b.Loop() {
		_ = r.appendTo(buf[:0])
	}
}
