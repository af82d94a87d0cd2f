package stack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/cleeng-connector/connector/cmd/connector-dev/demo"
	"github.com/cleeng-connector/connector/cmd/connector-dev/stack"
	"github.com/cleeng-connector/connector/internal/broker"
	"github.com/cleeng-connector/connector/internal/cli"
	"github.com/cleeng-connector/connector/workers"
)

// repoRoot is where deploy/ and docs/ are, from this package's directory.
const repoRoot = "../../.."

// ruleFile is deploy/prometheus/alerts.yml as Prometheus reads it.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// dashboard is the part of deploy/grafana/connector.json that queries.
type dashboard struct {
	Title  string `json:"title"`
	Panels []struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// query is one PromQL expression and where it is written.
type query struct{ where, expr string }

// TestAlerts_RulesAndDashboardQueryWhatTheBinariesExport is `make lint`'s
// check of the alerting files: the rules are well-formed (fields, durations,
// PromQL, annotation templates, a runbook section per alert), and every
// metric and label the rules and the dashboard query is one the connector
// exports, read from a dev stack's registry (assembled as the binaries
// assemble theirs) after the demo ran through it.
func TestAlerts_RulesAndDashboardQueryWhatTheBinariesExport(t *testing.T) {
	t.Parallel()
	queries := append(ruleQueries(t), dashboardQueries(t)...)
	exported := exportedMetrics(t)
	for _, q := range queries {
		expr, err := parser.ParseExpr(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		for _, problem := range unknownSeries(expr, exported) {
			t.Errorf("%s: %s", q.where, problem)
		}
	}
}

func ruleQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/prometheus/alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	runbook, err := os.ReadFile(filepath.Join(repoRoot, "docs/runbook.md"))
	if err != nil {
		t.Fatal(err)
	}
	var out []query
	seen := map[string]bool{}
	for _, g := range rules.Groups {
		if len(g.Rules) == 0 {
			t.Errorf("group %q has no rules", g.Name)
		}
		for _, r := range g.Rules {
			where := fmt.Sprintf("alerts.yml alert %q", r.Alert)
			switch {
			case r.Alert == "" || r.Expr == "":
				t.Errorf("%s: alert and expr are required", where)
			case seen[r.Alert]:
				t.Errorf("%s: defined twice", where)
			case r.Labels["severity"] != "warning" && r.Labels["severity"] != "critical":
				t.Errorf("%s: severity %q, want warning or critical", where, r.Labels["severity"])
			case r.Annotations["summary"] == "":
				t.Errorf("%s: no summary", where)
			}
			seen[r.Alert] = true
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", where, err)
				}
			}
			expr, err := parser.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			for name, text := range r.Annotations {
				if err := checkTemplate(text, outputLabels(expr)); err != nil {
					t.Errorf("%s: annotation %s: %v", where, name, err)
				}
			}
			anchor := "docs/runbook.md#" + strings.ToLower(r.Alert)
			if r.Annotations["runbook_url"] != anchor {
				t.Errorf("%s: runbook_url %q, want %q", where, r.Annotations["runbook_url"], anchor)
			}
			if !strings.Contains(string(runbook), "\n## "+r.Alert+"\n") {
				t.Errorf("%s: docs/runbook.md has no section \"## %s\"", where, r.Alert)
			}
			out = append(out, query{where, r.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatal("alerts.yml has no rules")
	}
	return out
}

// checkTemplate expands an annotation as Prometheus would: a Go template
// with $labels (here only the labels the expression keeps, so naming one it
// drops is an error), $value and Prometheus's functions.
func checkTemplate(text string, labels []string) error {
	funcs := template.FuncMap{}
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp", "title", "toUpper", "toLower"} {
		funcs[name] = func(v any) string { return fmt.Sprint(v) }
	}
	tmpl, err := template.New("").Funcs(funcs).Option("missingkey=error").
		Parse("{{$labels := .Labels}}{{$value := .Value}}" + text)
	if err != nil {
		return err
	}
	kept := map[string]string{}
	for _, l := range labels {
		kept[l] = "x"
	}
	return tmpl.Execute(io.Discard, map[string]any{"Labels": kept, "Value": 1.0})
}

// outputLabels are the labels an alert's series carry: those of the
// aggregation on the left of its comparisons (by (...)).
func outputLabels(expr parser.Expr) []string {
	switch e := expr.(type) {
	case *parser.ParenExpr:
		return outputLabels(e.Expr)
	case *parser.BinaryExpr:
		return outputLabels(e.LHS)
	case *parser.AggregateExpr:
		if !e.Without {
			return e.Grouping
		}
	}
	return nil
}

func dashboardQueries(t *testing.T) []query {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "deploy/grafana/connector.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("connector.json: %v", err)
	}
	var out []query
	for _, p := range d.Panels {
		for _, target := range p.Targets {
			out = append(out, query{fmt.Sprintf("connector.json panel %q", p.Title), target.Expr})
		}
	}
	if len(out) == 0 {
		t.Fatal("connector.json has no queries")
	}
	return out
}

// exportedMetrics maps each series name the connector exports to its label
// names: a dev stack with the binaries' registry (cli.NewRegistry) runs the
// demo, so that every labelled series has a child, and holds a dead letter.
func exportedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	reg := cli.NewRegistry()
	dev, err := stack.StartDev(context.Background(), stack.DevOptions{
		Broker:      broker.Options{StoreDir: t.TempDir()},
		IngressAddr: "127.0.0.1:0", SandboxAddr: "127.0.0.1:0",
		Runtime:  workers.Config{Schedule: []time.Duration{20 * time.Millisecond, 100 * time.Millisecond}},
		Registry: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if err := stack.SeedDemo(dev.Sandboxes); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Run(context.Background(), stack.DemoTarget(dev.IngressURL, dev.SandboxURL), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Broker.JS.Publish(context.Background(), broker.SubjectDLQ+".authorise", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, f := range families {
		var labels []string
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		out[f.GetName()] = labels
		if f.GetType().String() == "HISTOGRAM" {
			out[f.GetName()+"_bucket"] = append(slices.Clone(labels), "le")
			out[f.GetName()+"_sum"] = labels
			out[f.GetName()+"_count"] = labels
		}
	}
	return out
}

// unknownSeries lists what expr asks for that is not exported: a metric
// name, a label matched on, or a label grouped by (by/without, which must
// belong to a metric the aggregation reads).
func unknownSeries(expr parser.Expr, exported map[string][]string) []string {
	var problems []string
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch n := node.(type) {
		case *parser.VectorSelector:
			labels, ok := exported[n.Name]
			if !ok {
				problems = append(problems, fmt.Sprintf("metric %s is not exported", n.Name))
				return nil
			}
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" && !slices.Contains(labels, m.Name) {
					problems = append(problems, fmt.Sprintf("metric %s has no label %s", n.Name, m.Name))
				}
			}
		case *parser.AggregateExpr:
			var read []string
			parser.Inspect(n.Expr, func(inner parser.Node, _ []parser.Node) error {
				if vs, ok := inner.(*parser.VectorSelector); ok {
					read = append(read, exported[vs.Name]...)
				}
				return nil
			})
			for _, g := range n.Grouping {
				if !slices.Contains(read, g) {
					problems = append(problems, fmt.Sprintf("%s groups by %s, a label none of its metrics has", n.Op, g))
				}
			}
		}
		return nil
	})
	return problems
}
