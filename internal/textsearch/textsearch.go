// Package textsearch holds the text side of livedb's search indexes: the
// tokenizer that turns a string into terms, and BM25, the relevance score.
// It knows no documents and no keys; the engine stores what it computes.
//
// Tokenizing is deliberately simple and predictable, close to Tantivy's
// SimpleTokenizer with its lower-casing filter, which Convex's search
// indexes use: a term is a maximal run of Unicode letters and digits,
// lower-cased. Everything else (spaces, punctuation, symbols) separates
// terms. There is no stemming and there are no stop words. A term longer
// than MaxTermLen bytes is dropped, as such runs are rarely words (hashes,
// base64) and would make long keys.
package textsearch

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTermLen is the length in bytes beyond which a term is dropped, in
// documents and in queries alike.
const MaxTermLen = 64

// Tokenize splits s into its terms, in order, repeats included.
func Tokenize(s string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		if t := strings.ToLower(s[start:end]); len(t) <= MaxTermLen {
			out = append(out, t)
		}
		start = -1
	}
	for i, r := range s {
		if r == utf8.RuneError || !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			flush(i)
			continue
		}
		if start < 0 {
			start = i
		}
	}
	flush(len(s))
	return out
}

// Frequencies returns each distinct term of terms with the number of times
// it occurs.
func Frequencies(terms []string) map[string]int {
	m := make(map[string]int, len(terms))
	for _, t := range terms {
		m[t]++
	}
	return m
}

// BM25's free parameters, the usual values (Lucene's and Tantivy's).
const (
	K1 = 1.2
	B  = 0.75
)

// IDF is the inverse document frequency of a term that docFreq of n
// documents contain, in the form that stays positive (Lucene's and
// Tantivy's): ln(1 + (n - df + 0.5) / (df + 0.5)).
func IDF(n, docFreq int64) float64 {
	return math.Log(1 + (float64(n)-float64(docFreq)+0.5)/(float64(docFreq)+0.5))
}

// Score is one term's BM25 contribution to the score of a document of
// length docLen (in terms) in which the term occurs tf times, given the
// term's idf and the average document length.
func Score(idf float64, tf, docLen int64, avgLen float64) float64 {
	if avgLen <= 0 {
		avgLen = 1
	}
	f := float64(tf)
	return idf * f * (K1 + 1) / (f + K1*(1-B+B*float64(docLen)/avgLen))
}
