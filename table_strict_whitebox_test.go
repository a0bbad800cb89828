package livedb

import "testing"

func TestEditDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"tasks", "tasks", 0},
		{"taks", "tasks", 1}, {"tsaks", "tasks", 1}, {"task", "tasks", 1},
		{"kitten", "sitting", 3}, {"workflow", "workflows", 1},
	} {
		if got := editDistance(c.a, c.b); got != c.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestNearestName(t *testing.T) {
	names := []string{"agentSessions", "tasks", "workflows"}
	for in, want := range map[string]string{
		"taks": "tasks", "Tasks": "tasks", "workflow": "workflows",
		"agentsessions": "agentSessions", "users": "", "x": "",
	} {
		if got := nearestName(in, names); got != want {
			t.Errorf("nearestName(%q) = %q, want %q", in, got, want)
		}
	}
}
