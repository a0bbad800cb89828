package textsearch

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestTokenize_Cases(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"Fix the LOGIN bug!", []string{"fix", "the", "login", "bug"}},
		{"e-mail: a.b@c.io", []string{"e", "mail", "a", "b", "c", "io"}},
		{"Über straße 42x", []string{"über", "straße", "42x"}},
		{"日本語 テキスト", []string{"日本語", "テキスト"}},
		{"  \t\n", nil},
		{"bad\xffbyte", []string{"bad", "byte"}},
		{strings.Repeat("a", MaxTermLen+1) + " ok", []string{"ok"}},
		{strings.Repeat("a", MaxTermLen), []string{strings.Repeat("a", MaxTermLen)}},
	} {
		if got := Tokenize(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScore_Monotone(t *testing.T) {
	idf := IDF(100, 3)
	if idf <= IDF(100, 50) {
		t.Errorf("a rarer term must weigh more: %v <= %v", idf, IDF(100, 50))
	}
	if Score(idf, 2, 10, 10) <= Score(idf, 1, 10, 10) {
		t.Error("more occurrences must score higher")
	}
	if Score(idf, 1, 5, 10) <= Score(idf, 1, 20, 10) {
		t.Error("a shorter document must score higher")
	}
	// tf=1, docLen=avg: idf * 2.2 / 2.2 = idf.
	if got := Score(idf, 1, 10, 10); math.Abs(got-idf) > 1e-12 {
		t.Errorf("Score = %v, want %v", got, idf)
	}
}
