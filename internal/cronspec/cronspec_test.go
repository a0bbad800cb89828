package cronspec

import (
	"errors"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSpec_Next(t *testing.T) {
	cases := []struct {
		spec, after, want string
	}{
		{"* * * * *", "2024-03-01 10:00", "2024-03-01 10:01"},
		{"*/15 * * * *", "2024-03-01 10:07", "2024-03-01 10:15"},
		{"*/15 * * * *", "2024-03-01 10:45", "2024-03-01 11:00"},
		{"0 3 * * *", "2024-03-01 03:00", "2024-03-02 03:00"},
		{"30 9 * * MON-FRI", "2024-03-01 10:00", "2024-03-04 09:30"}, // Friday after 9:30: Monday
		{"0 0 1 JAN *", "2024-03-01 00:00", "2025-01-01 00:00"},
		{"0 0 29 2 *", "2024-03-01 00:00", "2028-02-29 00:00"},
		{"0 12 13 * 5", "2024-03-01 00:00", "2024-03-01 12:00"}, // the 13th or a Friday: March 1st 2024 is a Friday
		{"0 0 * * 7", "2024-03-01 00:00", "2024-03-03 00:00"},   // 7 is Sunday
		{"5,10-12/2 * * * *", "2024-03-01 10:06", "2024-03-01 10:10"},
		{"5/20 * * * *", "2024-03-01 10:26", "2024-03-01 10:45"},
	}
	for _, tc := range cases {
		s, err := Parse(tc.spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.spec, err)
		}
		got, ok := s.Next(utc(tc.after))
		if !ok || !got.Equal(utc(tc.want)) {
			t.Errorf("%q after %s: got %v (%v), want %s", tc.spec, tc.after, got, ok, tc.want)
		}
	}
}

func TestSpec_Next_Never(t *testing.T) {
	s, err := Parse("0 0 30 2 *")
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := s.Next(utc("2024-01-01 00:00")); ok {
		t.Errorf("February 30 came at %v", got)
	}
}

func TestSpec_Count(t *testing.T) {
	s, _ := Parse("*/10 * * * *")
	if n := s.Count(utc("2024-03-01 10:00"), utc("2024-03-01 11:00"), 100); n != 6 {
		t.Errorf("Count = %d, want 6", n)
	}
	if n := s.Count(utc("2024-03-01 10:00"), utc("2024-03-02 10:00"), 10); n != 10 {
		t.Errorf("Count with limit 10 = %d", n)
	}
}

func TestParse_Errors(t *testing.T) {
	for _, spec := range []string{"", "* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "* * * 13 *", "* * * * 8",
		"5-1 * * * *", "*/0 * * * *", "x * * * *", "* * * FOO *", "1-x * * * *"} {
		if _, err := Parse(spec); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%q) = %v, want ErrSyntax", spec, err)
		}
	}
}
