package vecindex_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/livedb-go/livedb/internal/vecindex"
)

// randVec returns n normal components rounded to float32, as stored.
func randVec(r *rand.Rand, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(r.NormFloat64()))
	}
	return out
}

// naive returns the dot product and the norms of a and b, summed in
// float64 in component order.
func naive(a, b []float64) (dot, na, nb float64) {
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	return dot, math.Sqrt(na), math.Sqrt(nb)
}

func TestQuery_Dot_MatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{2, 3, 4, 5, 7, 8, 9, 12, 128, 767, 768} {
		a, b := randVec(r, n), randVec(r, n)
		packed := vecindex.Pack(nil, b)
		q := vecindex.NewQuery(a)
		dot, na, nb := naive(a, b)
		if got := q.Dot(packed); math.Abs(got-dot) > 1e-9*max(1, math.Abs(dot)) {
			t.Errorf("n=%d: Dot = %v, want %v", n, got, dot)
		}
		if got := vecindex.Norm(packed); math.Abs(got-nb) > 1e-12*nb {
			t.Errorf("n=%d: Norm = %v, want %v", n, got, nb)
		}
		want := dot / (na * nb)
		if got := q.CosineNorm(packed, vecindex.Norm(packed)); math.Abs(got-want) > 1e-12 {
			t.Errorf("n=%d: CosineNorm = %v, want %v", n, got, want)
		}
		if got, again := q.Cosine(packed), q.CosineNorm(packed, vecindex.Norm(packed)); got != again {
			t.Errorf("n=%d: Cosine = %v, CosineNorm = %v", n, got, again)
		}
	}
}

func TestAppendNorm_ReadNorm_RoundTrip(t *testing.T) {
	packed := vecindex.Pack(nil, []float64{3, 4})
	b := vecindex.AppendNorm([]byte{9}, packed)
	if len(b) != 1+vecindex.NormBytes {
		t.Fatalf("AppendNorm wrote %d bytes, want %d", len(b)-1, vecindex.NormBytes)
	}
	if got := vecindex.ReadNorm(b[1:]); got != 5 {
		t.Errorf("ReadNorm = %v, want 5", got)
	}
}

// BenchmarkQuery_Cosine compares scoring a packed vector with its norm
// computed (Cosine) and known (CosineNorm).
func BenchmarkQuery_Cosine(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 768
	q := vecindex.NewQuery(randVec(r, n))
	packed := vecindex.Pack(nil, randVec(r, n))
	norm := vecindex.Norm(packed)
	var sink float64
	b.Run("norm=computed", func(b *testing.B) {
		for b.Loop() {
			sink += q.Cosine(packed)
		}
	})
	b.Run("norm=known", func(b *testing.B) {
		for b.Loop() {
			sink += q.CosineNorm(packed, norm)
		}
	})
	_ = sink
}
