package codec

// copyMutable returns x with every array, object and []byte in it copied,
// so that a Go value that receives it shares nothing mutable with the
// document it came from. Strings and numbers are immutable and shared.
//
// Decoding stores a document value into an interface field as it is (an
// `any` field takes the []any or map[string]any itself); the documents the
// root package decodes may be the decoded form of a stored version that
// other readers share, so what reaches the caller's value must be a copy.
func copyMutable(x any) any {
	switch t := x.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = copyMutable(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = copyMutable(e)
		}
		return out
	case []byte:
		return append([]byte{}, t...)
	}
	return x
}
