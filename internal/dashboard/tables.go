package dashboard

import (
	"net/http"
	"slices"
	"strings"
)

// tablesReply is the answer of GET /api/tables.
type tablesReply struct {
	// Timestamp is the database's last commit.
	Timestamp uint64      `json:"timestamp,string"`
	Counts    countsReply `json:"counts"`
	Tables    []tableInfo `json:"tables"`
}

// countsReply says how fresh the document counts are.
type countsReply struct {
	// Through is the last commit the counts are known to include.
	Through uint64 `json:"through,string"`
	// Current is true when no commit landed after Through: the counts
	// are exact.
	Current bool `json:"current"`
	// CountedAt is when the count started, in Unix milliseconds.
	CountedAt int64 `json:"countedAt"`
	// TookMicros is how long counting every table took.
	TookMicros int64 `json:"tookMicros"`
}

// tableInfo describes one table.
type tableInfo struct {
	Name      string      `json:"name"`
	Number    uint32      `json:"number"`
	Documents int64       `json:"documents"`
	Indexes   []indexInfo `json:"indexes"`
	// Validator is the schema's validator of the table, as v prints it;
	// empty when the schema does not declare the table.
	Validator string `json:"validator,omitempty"`
}

// indexInfo describes an index: Columns are the fields an index range
// may bound, in order (an index's own fields then _creationTime).
type indexInfo struct {
	Name    string   `json:"name"`
	Fields  []string `json:"fields"`
	Columns []string `json:"columns"`
}

// tables answers GET /api/tables: every table with its (cached) document
// count and its indexes, built-in ones first.
func (h *handler) tables(w http.ResponseWriter, r *http.Request) {
	c, err := h.counts.get(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	last := h.db.LastTimestamp()
	reply := tablesReply{
		Timestamp: last,
		Counts: countsReply{
			Through:    c.through,
			Current:    c.through == last,
			CountedAt:  c.at.UnixMilli(),
			TookMicros: c.took.Microseconds(),
		},
		Tables: make([]tableInfo, 0, len(c.tables)),
	}
	schema := h.db.Schema()
	for _, st := range c.tables {
		t := tableInfo{Name: st.Name, Number: st.Number, Documents: st.Documents, Indexes: builtinIndexes()}
		for _, ix := range st.Indexes {
			t.Indexes = append(t.Indexes, indexInfo{
				Name:    ix.Name,
				Fields:  slices.Clone(ix.Fields),
				Columns: append(slices.Clone(ix.Fields), "_creationTime"),
			})
		}
		if schema != nil {
			if def, ok := schema.Table(st.Name); ok && def.Validator() != nil {
				t.Validator = def.Validator().String()
			}
		}
		reply.Tables = append(reply.Tables, t)
	}
	slices.SortFunc(reply.Tables, func(a, b tableInfo) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, reply)
}

// builtinIndexes returns the indexes every table has.
func builtinIndexes() []indexInfo {
	return []indexInfo{
		{Name: "by_creation_time", Fields: []string{"_creationTime"}, Columns: []string{"_creationTime"}},
		{Name: "by_id", Fields: []string{"_id"}, Columns: []string{"_id"}},
	}
}
