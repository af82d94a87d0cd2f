package flows

// EventRows names every row of the decision table as "<gateway> <code>
// <success>" (success "" for either), for the end-to-end test of each row.
func EventRows() []string {
	out := make([]string, len(eventTable))
	for i, row := range eventTable {
		out[i] = row.Gateway + " " + row.Code + " " + row.Success
	}
	return out
}
