package storecopy

import "slices"

// TableColumns is the table list as table → column names, sorted, for the
// tests that hold it to both schemas.
func TableColumns() map[string][]string {
	out := map[string][]string{}
	for _, t := range tables {
		for _, c := range t.columns {
			out[t.name] = append(out[t.name], c.name)
		}
		slices.Sort(out[t.name])
	}
	return out
}
