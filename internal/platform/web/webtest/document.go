package webtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

// CheckDocument checks the OpenAPI document served at baseURL with
// DocumentProblems.
func CheckDocument(t testing.TB, baseURL string) {
	t.Helper()
	res, err := http.Get(baseURL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	doc, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range DocumentProblems(doc) {
		t.Error(p)
	}
}

// DocumentProblems lists what makes an OpenAPI document less than what
// API users and client generators need, as Redocly's and Spectral's
// recommended rules would say it and more: an operation without a
// description of its own (not its summary again), a tag not declared with
// a description, no 4xx answer, a 4xx answer that is not a problem+json
// Problem, a security scheme that is not declared, and schema keywords
// that are not JSON Schema (patternDescription).
func DocumentProblems(doc []byte) []string {
	var d struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Info struct {
			License *struct {
				Name string `json:"name"`
			} `json:"license"`
		} `json:"info"`
		Tags []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"tags"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]json.RawMessage `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		return []string{fmt.Sprintf("the document is not JSON: %v", err)}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if len(d.Servers) == 0 {
		add("the document names no server")
	}
	if d.Info.License == nil || d.Info.License.Name == "" {
		add("the document names no license")
	}
	tags := map[string]bool{}
	for _, t := range d.Tags {
		if strings.TrimSpace(t.Description) == "" {
			add("tag %q is declared without a description", t.Name)
		}
		tags[t.Name] = true
	}
	if strings.Contains(string(doc), `"patternDescription"`) {
		add("a schema has patternDescription, which is no JSON Schema keyword")
	}
	paths := make([]string, 0, len(d.Paths))
	for p := range d.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, path := range paths {
		for method, raw := range d.Paths[path] {
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				continue
			}
			var op struct {
				OperationID string                `json:"operationId"`
				Summary     string                `json:"summary"`
				Description string                `json:"description"`
				Tags        []string              `json:"tags"`
				Security    []map[string][]string `json:"security"`
				Responses   map[string]struct {
					Description string `json:"description"`
					Content     map[string]struct {
						Schema struct {
							Ref string `json:"$ref"`
						} `json:"schema"`
					} `json:"content"`
				} `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				add("%s %s: %v", method, path, err)
				continue
			}
			name := fmt.Sprintf("%s %s (%s)", strings.ToUpper(method), path, op.OperationID)
			desc := strings.TrimSpace(op.Description)
			switch {
			case desc == "":
				add("%s has no description", name)
			case strings.EqualFold(strings.TrimSuffix(desc, "."), strings.TrimSuffix(strings.TrimSpace(op.Summary), ".")):
				add("%s: the description repeats the summary", name)
			}
			if len(op.Tags) == 0 {
				add("%s has no tag", name)
			}
			for _, t := range op.Tags {
				if !tags[t] {
					add("%s: tag %q is not declared", name, t)
				}
			}
			for _, req := range op.Security {
				for scheme := range req {
					if _, ok := d.Components.SecuritySchemes[scheme]; !ok {
						add("%s: security scheme %q is not declared", name, scheme)
					}
				}
			}
			n4xx := 0
			for status, res := range op.Responses {
				if len(status) != 3 || status[0] != '4' {
					continue
				}
				n4xx++
				if strings.TrimSpace(res.Description) == "" {
					add("%s: answer %s has no description", name, status)
				}
				if c, ok := res.Content["application/problem+json"]; !ok || c.Schema.Ref != "#/components/schemas/Problem" {
					add("%s: answer %s is not an application/problem+json Problem", name, status)
				}
			}
			if n4xx == 0 {
				add("%s documents no 4xx answer", name)
			}
		}
	}
	return problems
}
