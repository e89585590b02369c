package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshbench/meshbench/reports/reportstest"
	"golang.org/x/net/html"
)

// attr returns n's attribute key, or "".
func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func TestIndexHTMLReferencesExistAndCoversEveryVariant(t *testing.T) {
	dir := t.TempDir()
	s := goldenSummary()
	scenario := []byte("name: balancer-brownout\ndescription: </pre><script>alert(1)</script>\n")
	if err := reportstest.WriteRun(dir, s, scenario); err != nil {
		t.Fatal(err)
	}
	tl := goldenTimeline()
	if err := Render(dir, Options{Timeline: &tl}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := html.Parse(f)
	if err != nil {
		t.Fatal(err)
	}

	var images, links []string
	rows := map[string]bool{}
	var scripts int
	var pre string
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		switch n.Data {
		case "img":
			images = append(images, attr(n, "src"))
		case "a":
			if h := attr(n, "href"); !strings.HasPrefix(h, "#") {
				links = append(links, h)
			}
		case "tr":
			if b, v := attr(n, "data-backend"), attr(n, "data-variant"); v != "" {
				cells := textOf(n)
				if strings.Contains(cells, b) && strings.Contains(cells, v) {
					rows[b+"/"+v] = true
				}
			}
		case "script":
			scripts++
		case "pre":
			pre += textOf(n)
		}
	})
	if len(images) < 5 {
		t.Errorf("index.html shows %d images, want at least 5", len(images))
	}
	for _, ref := range append(images, links...) {
		if strings.Contains(ref, "://") || filepath.IsAbs(ref) {
			t.Errorf("reference %q is not relative to the run folder", ref)
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(ref))); err != nil {
			t.Errorf("index.html references %q: %v", ref, err)
		}
	}
	for _, g := range Groups(s) {
		if !rows[g.Key.String()] {
			t.Errorf("no results row for %s", g.Key)
		}
	}
	if scripts != 0 {
		t.Errorf("the scenario text was not escaped: %d script elements", scripts)
	}
	if !strings.Contains(pre, "<script>alert(1)</script>") {
		t.Errorf("the scenario text is not shown verbatim:\n%s", pre)
	}
	for _, name := range []string{MarkdownFile, JUnitFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}

func TestRenderWithoutScenarioOrEnvironment(t *testing.T) {
	dir := t.TempDir()
	s := reportstest.Summary(reportstest.Config{Duration: 5e9})
	raw, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Render(dir, Options{Plots: PlotOptions{Formats: []string{FormatSVG}}}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no scenario.yaml", "holds no environment.json", "plots/latency-over-time.svg"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

func TestRenderMissingSummary(t *testing.T) {
	if err := Render(t.TempDir(), Options{}); err == nil {
		t.Fatal("Render of an empty folder succeeded")
	}
}
