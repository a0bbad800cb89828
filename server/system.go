package server

import (
	"fmt"

	"github.com/livedb-go/livedb"
	"github.com/livedb-go/livedb/v"
)

// The server's own queries, for the admin only: raw, read-only access to
// every table, bypassing the Registry's functions. They are served over
// the same protocol as public queries (and are reactive where they read
// through a query), under the "_system/livedb:" paths.
const (
	systemTables    = "_system/livedb:tables"
	systemDocuments = "_system/livedb:documents"
	systemGet       = "_system/livedb:get"
)

// tableInfo is one table of _system/livedb:tables.
type tableInfo struct {
	Name      string      `json:"name"`
	Documents float64     `json:"documents"` // a JavaScript number
	Indexes   []indexInfo `json:"indexes"`
}

type indexInfo struct {
	Name   string   `json:"name"`
	Fields []string `json:"fields"`
}

// documentsArgs are the arguments of _system/livedb:documents.
type documentsArgs struct {
	Table          string                   `json:"table"`
	Order          string                   `json:"order,omitempty"`
	PaginationOpts livedb.PaginationOptions `json:"paginationOpts"`
}

type getArgs struct {
	ID string `json:"id"`
}

// systemRegistry returns the admin queries of db.
func systemRegistry(db *livedb.DB) *livedb.Registry {
	tables := livedb.NewQuery(livedb.FunctionDef[struct{}, []tableInfo]{
		Name: systemTables, Args: v.Object(v.Fields{}),
	}, func(q *livedb.QueryCtx, _ struct{}) ([]tableInfo, error) {
		// A count of every table at the time of the call: the result
		// does not follow later commits.
		stats, err := db.TableStats(q.Context())
		if err != nil {
			return nil, err
		}
		out := []tableInfo{}
		for _, st := range stats {
			ti := tableInfo{Name: st.Name, Documents: float64(st.Documents), Indexes: []indexInfo{}}
			for _, ix := range st.Indexes {
				ti.Indexes = append(ti.Indexes, indexInfo{Name: ix.Name, Fields: ix.Fields})
			}
			out = append(out, ti)
		}
		return out, nil
	})
	documents := livedb.NewQuery(livedb.FunctionDef[documentsArgs, livedb.PaginationResult[livedb.Doc]]{
		Name: systemDocuments,
		Args: v.Object(v.Fields{
			"table":          v.String(),
			"order":          v.Optional(v.Union(v.Literal("asc"), v.Literal("desc"))),
			"paginationOpts": v.PaginationOpts(),
		}),
	}, func(q *livedb.QueryCtx, a documentsArgs) (livedb.PaginationResult[livedb.Doc], error) {
		order := livedb.Asc
		if a.Order == "desc" {
			order = livedb.Desc
		}
		return q.DB.Query(a.Table).Order(order).Paginate(a.PaginationOpts)
	})
	get := livedb.NewQuery(livedb.FunctionDef[getArgs, livedb.Doc]{
		Name: systemGet, Args: v.Object(v.Fields{"id": v.String()}),
	}, func(q *livedb.QueryCtx, a getArgs) (livedb.Doc, error) {
		doc, ok, err := q.DB.Get(livedb.ID(a.ID))
		if err != nil || !ok {
			return nil, err
		}
		return doc, nil
	})
	reg, err := livedb.NewRegistry(tables, documents, get)
	if err != nil {
		panic(fmt.Errorf("server: the system registry: %w", err)) // a bug of this package
	}
	return reg
}
