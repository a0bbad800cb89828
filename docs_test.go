package livedb_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// semanticsDoc is the repository's document of the Convex facts the code
// relies on. Code and docs cite its sections as docs/semantics.md#<anchor>.
const semanticsDoc = "docs/semantics.md"

var (
	// sectionNumber matches a citation of a numbered section (a section
	// sign and a number) of a note that is not in the repository.
	sectionNumber = regexp.MustCompile(`§\s*[0-9]`)
	// semanticsCitation matches a citation of a section of semanticsDoc,
	// from the repository ("docs/semantics.md#value-order") or from inside
	// it ("(#value-order)").
	semanticsCitation = regexp.MustCompile(`(?:docs/semantics\.md|\]\()#([A-Za-z0-9_-]+)`)
)

// docFiles returns the files of the module that hold code or prose: Go
// files, Markdown and the testdata text files (fuzz corpora excepted).
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || path == filepath.Join("testdata", "fuzz") {
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(path) {
		case ".go", ".md", ".txt":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 50 {
		t.Fatalf("found only %d files: not run from the module root?", len(files))
	}
	return files
}

// TestDocs_NoSectionNumbers fails when a file cites a section number
// ("§" and a digit) of a note that is not in the repository: such a
// reference resolves for nobody who reads the code.
func TestDocs_NoSectionNumbers(t *testing.T) {
	for _, path := range docFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if sectionNumber.MatchString(line) {
				t.Errorf("%s:%d cites a section number; cite %s#<anchor> instead: %s", path, i+1, semanticsDoc, strings.TrimSpace(line))
			}
		}
	}
}

// TestDocs_SemanticsCitationsResolve fails when a file cites
// docs/semantics.md#<anchor>, or docs/semantics.md links to #<anchor>, and
// docs/semantics.md has no heading with that anchor.
func TestDocs_SemanticsCitationsResolve(t *testing.T) {
	b, err := os.ReadFile(filepath.FromSlash(semanticsDoc))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "#") {
			anchors[headingAnchor(strings.TrimLeft(line, "#"))] = true
		}
	}
	if !anchors["value-order"] {
		t.Fatalf("%s has no heading \"Value order\"; anchors: %v", semanticsDoc, anchors)
	}
	cited := 0
	for _, path := range docFiles(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		inDoc := filepath.ToSlash(path) == semanticsDoc
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range semanticsCitation.FindAllStringSubmatch(line, -1) {
				if strings.HasPrefix(m[0], "](") && !inDoc {
					continue // a link to an anchor of another Markdown file
				}
				cited++
				if !anchors[m[1]] {
					t.Errorf("%s:%d cites %s#%s, which is not a heading of %s", path, i+1, semanticsDoc, m[1], semanticsDoc)
				}
			}
		}
	}
	if cited < 20 {
		t.Errorf("only %d citations of %s found: the citation pattern no longer matches how the code cites it", cited, semanticsDoc)
	}
}

// headingAnchor returns the anchor GitHub gives a Markdown heading: lower
// case, spaces as hyphens, punctuation other than hyphens and underscores
// dropped.
func headingAnchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestHeadingAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		" Value order":                      "value-order",
		"Missing fields and undefined":      "missing-fields-and-undefined",
		"Transactions and OCC":              "transactions-and-occ",
		"What differs from Convex, and why": "what-differs-from-convex-and-why",
		"The `livedb` command":              "the-livedb-command",
	} {
		if got := headingAnchor(heading); got != want {
			t.Errorf("headingAnchor(%q) = %q, want %q", heading, got, want)
		}
	}
}
