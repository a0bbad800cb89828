package livedb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/livedb-go/livedb"
)

func TestDB_TableStats(t *testing.T) {
	forEachBackendOptions(t, exportSchema(), looseOptions, func(t *testing.T, db *livedb.DB) {
		mustFillExportDB(t, db)
		stats, err := db.TableStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		var numbers []uint32
		for _, st := range stats {
			got[st.Name] = st.Documents
			numbers = append(numbers, st.Number)
		}
		want := map[string]int64{"workflows": 4, "values": int64(len(exportValues())), "loose": 5}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("counts = %v, want %v", got, want)
		}
		if !slices.IsSorted(numbers) || numbers[0] < 10001 {
			t.Errorf("numbers = %v, want sorted user table numbers", numbers)
		}
		for _, st := range stats {
			if st.Name == "values" && (len(st.Indexes) != 2 || st.Indexes[0].Name != "by_v" || !slices.Equal(st.Indexes[1].Fields, []string{"ref"})) {
				t.Errorf("values indexes = %+v", st.Indexes)
			}
		}
	})
}
