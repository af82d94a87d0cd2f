// Command benchtable reads `go test -bench` output on stdin and prints one
// Markdown table of the connector's figures beside the floors its
// benchmarks measured in the same run, and their ratios (`make bench`).
//
// It relies on the benchmarks' metric names: a metric named floor-<unit>
// is a floor (printed as <unit>); "ratio" is the ratio of the rates,
// printed first as "rate", and <what>-ratio another ratio, printed as
// <what>; every other metric except ns/op, B/op and allocs/op is the
// connector's.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

func main() {
	if err := table(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}

// table prints a row for every benchmark result line of in.
func table(in io.Reader, out io.Writer) error {
	var rows []string
	pkg := ""
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndex(p, "/")+1:]
			continue
		}
		if row, ok := resultRow(pkg, line); ok {
			rows = append(rows, row)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("no benchmark results in the input")
	}
	_, err := fmt.Fprintf(out, "| Benchmark | Connector | Floor in the same run | Ratio |\n|---|---|---|---|\n%s", strings.Join(rows, ""))
	return err
}

// resultRow formats one result line ("BenchmarkX-2  N  v unit  v unit ...").
func resultRow(pkg, line string) (string, bool) {
	fields := strings.Fields(line)
	if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
		return "", false
	}
	if _, err := strconv.Atoi(fields[1]); err != nil {
		return "", false
	}
	name := fields[0]
	if i := strings.LastIndex(name, "-"); i > 0 {
		name = name[:i] // the GOMAXPROCS suffix
	}
	var connector, floor, ratio []string
	for i := 2; i < len(fields); i += 2 {
		value, unit := fields[i], fields[i+1]
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return "", false
		}
		switch {
		case unit == "ns/op" || unit == "B/op" || unit == "allocs/op":
		case strings.HasPrefix(unit, "floor-"):
			floor = append(floor, number(v)+" "+strings.TrimPrefix(unit, "floor-"))
		case unit == "ratio": // the headline: rates, first
			ratio = append([]string{"rate " + strconv.FormatFloat(v, 'f', 2, 64)}, ratio...)
		case strings.HasSuffix(unit, "-ratio"):
			ratio = append(ratio, strings.TrimSuffix(unit, "-ratio")+" "+strconv.FormatFloat(v, 'f', 2, 64))
		default:
			connector = append(connector, number(v)+" "+unit)
		}
	}
	if len(connector) == 0 {
		connector = []string{fields[2] + " ns/op"}
	}
	return fmt.Sprintf("| %s %s | %s | %s | %s |\n", pkg, name, strings.Join(connector, ", "),
		orDash(floor), orDash(ratio)), true
}

// number prints v with thousands separators, and two decimals below 100.
func number(v float64) string {
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	s := strconv.FormatInt(int64(v+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func orDash(cells []string) string {
	if len(cells) == 0 {
		return "—"
	}
	return strings.Join(cells, ", ")
}
