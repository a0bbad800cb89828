// Package vecindex holds the arithmetic of livedb's vector indexes: the
// packed form of a vector (float32, little-endian), cosine similarity
// between a query and a packed vector, and a bounded selection of the k
// best results. It knows nothing of documents or keys.
package vecindex

import (
	"container/heap"
	"encoding/binary"
	"math"
)

// BytesPerDim is the size of one packed component: a float32.
const BytesPerDim = 4

// Pack appends vec to dst as little-endian float32 components. Each
// float64 is rounded to the nearest float32.
func Pack(dst []byte, vec []float64) []byte {
	for _, x := range vec {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(x)))
	}
	return dst
}

// Unpack returns the components of a packed vector as float64.
func Unpack(b []byte) []float64 {
	out := make([]float64, len(b)/BytesPerDim)
	for i := range out {
		out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i*BytesPerDim:])))
	}
	return out
}

// NormBytes is the size of a packed vector's norm, as [AppendNorm]
// writes it: a float64.
const NormBytes = 8

// Norm returns the Euclidean norm of the packed vector b, summed in
// float64 in component order (each square of a float32 is exact in
// float64).
func Norm(b []byte) float64 {
	var n2 float64
	n := len(b) / BytesPerDim
	i := 0
	for ; i+4 <= n; i += 4 {
		o := b[i*BytesPerDim : i*BytesPerDim+16 : i*BytesPerDim+16]
		x0 := float64(math.Float32frombits(binary.LittleEndian.Uint32(o[0:])))
		x1 := float64(math.Float32frombits(binary.LittleEndian.Uint32(o[4:])))
		x2 := float64(math.Float32frombits(binary.LittleEndian.Uint32(o[8:])))
		x3 := float64(math.Float32frombits(binary.LittleEndian.Uint32(o[12:])))
		n2 += x0*x0 + x1*x1 + x2*x2 + x3*x3
	}
	for ; i < n; i++ {
		x := float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i*BytesPerDim:])))
		n2 += x * x
	}
	return math.Sqrt(n2)
}

// AppendNorm appends the norm of the packed vector b ([Norm]) to dst as a
// little-endian float64, [NormBytes] long.
func AppendNorm(dst, b []byte) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(Norm(b)))
}

// ReadNorm returns a norm written by [AppendNorm]; b must hold at least
// [NormBytes] bytes.
func ReadNorm(b []byte) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(b))
}

// Query is a search vector prepared for scoring packed vectors: its
// components rounded to float32, as stored vectors are (and held as
// float64, so that a product with a stored component is exact), and its
// norm.
type Query struct {
	vec  []float64
	norm float64
}

// NewQuery prepares vec for [Query.Cosine].
func NewQuery(vec []float64) *Query {
	q := &Query{vec: make([]float64, len(vec))}
	var n2 float64
	for i, x := range vec {
		f := float64(float32(x))
		q.vec[i] = f
		n2 += f * f
	}
	q.norm = math.Sqrt(n2)
	return q
}

// Dims returns the number of components of the query.
func (q *Query) Dims() int { return len(q.vec) }

// Cosine returns the cosine similarity of the query and the packed vector
// b, which must hold q.Dims() components: their dot product divided by the
// product of their norms, in [-1, 1]. When either vector is all zeros the
// similarity is 0. It computes b's norm; [Query.CosineNorm] takes it.
func (q *Query) Cosine(b []byte) float64 {
	return q.CosineNorm(b, Norm(b[:len(q.vec)*BytesPerDim]))
}

// CosineNorm is [Query.Cosine] for a packed vector b whose norm ([Norm])
// is known: one pass over b, for the dot product only.
func (q *Query) CosineNorm(b []byte, norm float64) float64 {
	return Cosine(q.Dot(b), q.norm, norm)
}

// Dot returns the dot product of the query and the packed vector b, which
// must hold q.Dims() components. Each product of two float32 values is
// exact in float64; the products are summed in float64 into four partial
// sums (components i mod 4), added as (s0+s1)+(s2+s3): the same order on
// every call, so the same score for the same vectors, and sums that do
// not wait on each other.
func (q *Query) Dot(b []byte) float64 {
	v := q.vec
	b = b[:len(v)*BytesPerDim]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+8 <= len(v); i += 8 { // two rounds of four per iteration: less loop overhead, same sums
		w := v[i : i+8 : i+8]
		o := b[i*BytesPerDim : i*BytesPerDim+32 : i*BytesPerDim+32]
		s0 += w[0] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[0:])))
		s1 += w[1] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[4:])))
		s2 += w[2] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[8:])))
		s3 += w[3] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[12:])))
		s0 += w[4] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[16:])))
		s1 += w[5] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[20:])))
		s2 += w[6] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[24:])))
		s3 += w[7] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[28:])))
	}
	for ; i+4 <= len(v); i += 4 {
		w := v[i : i+4 : i+4]
		o := b[i*BytesPerDim : i*BytesPerDim+16 : i*BytesPerDim+16]
		s0 += w[0] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[0:])))
		s1 += w[1] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[4:])))
		s2 += w[2] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[8:])))
		s3 += w[3] * float64(math.Float32frombits(binary.LittleEndian.Uint32(o[12:])))
	}
	for ; i < len(v); i++ {
		s0 += v[i] * float64(math.Float32frombits(binary.LittleEndian.Uint32(b[i*BytesPerDim:])))
	}
	return (s0 + s1) + (s2 + s3)
}

// Cosine returns dot / (normA * normB), clamped to [-1, 1], or 0 when a
// norm is 0.
func Cosine(dot, normA, normB float64) float64 {
	if normA == 0 || normB == 0 {
		return 0
	}
	return max(-1, min(1, dot/(normA*normB)))
}

// Hit is one scored entry: an opaque ID and its similarity.
type Hit struct {
	ID    string
	Score float64
}

// Better reports whether a ranks before b: the higher score first, and
// among equal scores the smaller ID, so that the order is total and the
// same on every run.
func Better(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score > b.Score
	}
	return a.ID < b.ID
}

// TopK keeps the k best hits offered to it ([Better] order) in a heap of
// at most k entries.
type TopK struct {
	k int
	h hitHeap
}

// NewTopK returns an empty selection of at most k hits; k must be > 0.
func NewTopK(k int) *TopK { return &TopK{k: k, h: make(hitHeap, 0, k)} }

// Full reports whether k hits are kept.
func (t *TopK) Full() bool { return len(t.h) == t.k }

// Worst returns the worst hit kept; only meaningful when Full.
func (t *TopK) Worst() Hit { return t.h[0] }

// Admits reports whether a hit with this score could enter the selection:
// the selection is not full, or the score is at least the worst one's.
func (t *TopK) Admits(score float64) bool { return !t.Full() || score >= t.h[0].Score }

// Offer adds h if it ranks among the k best so far.
func (t *TopK) Offer(h Hit) {
	if len(t.h) < t.k {
		heap.Push(&t.h, h)
		return
	}
	if Better(h, t.h[0]) {
		t.h[0] = h
		heap.Fix(&t.h, 0)
	}
}

// Sorted returns the kept hits, best first. The selection is emptied.
func (t *TopK) Sorted() []Hit {
	out := make([]Hit, len(t.h))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(&t.h).(Hit)
	}
	return out
}

// hitHeap is a min-heap in Better order: the worst hit is at the root.
type hitHeap []Hit

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return Better(h[j], h[i]) }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(Hit)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
