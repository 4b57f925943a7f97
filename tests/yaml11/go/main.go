// Command yaml11-go checks that golden YAML streams read back, with
// gopkg.in/yaml.v2 (the YAML 1.1 library under kubectl's sigs.k8s.io/yaml),
// exactly as the sibling JSON List says.
//
// Usage: yaml11-go DIR
//
// For every DIR/*.yaml with a sibling DIR/*.json (a Kubernetes List), the YAML
// stream is split with yaml.v2's Decoder (strict mode: a duplicate mapping key
// is an error), every map[interface{}]interface{} becomes map[string]interface{}
// (a non-string key is an error), and document i must equal items[i] of the
// JSON List decoded with encoding/json and UseNumber, with strict types:
//
//   - YAML int/int64/uint64 equals only an integer json.Number of the same value;
//   - YAML float64 equals only a json.Number with '.', 'e' or 'E' of the same value;
//   - bool only bool, string only string, nil only null.
//
// A trailing empty document (a stream that ends with "---") is ignored.
// Prints one line per mismatch and then "yaml11-go-yaml-v2: N passed, M failed"
// (counting file pairs). Exits 1 if anything failed or no pair was found.
//
// Build offline (Debian's golang-go and golang-gopkg-yaml.v2-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT ./tests/yaml11/go
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

const label = "yaml11-go-yaml-v2"

// keyError reports a mapping key that is not a string after YAML 1.1 resolution.
type keyError struct {
	path []string
	key  interface{}
}

func (e *keyError) Error() string {
	return fmt.Sprintf("%s: non-string mapping key in YAML: %s", pointer(e.path), show(e.key))
}

// normalize turns yaml.v2's map[interface{}]interface{} into map[string]interface{}.
func normalize(v interface{}, path []string) (interface{}, error) {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			ks, ok := k.(string)
			if !ok {
				return nil, &keyError{path: append(append([]string{}, path...), fmt.Sprint(k)), key: k}
			}
			nv, err := normalize(val, append(path, ks))
			if err != nil {
				return nil, err
			}
			m[ks] = nv
		}
		return m, nil
	case []interface{}:
		s := make([]interface{}, len(t))
		for i, val := range t {
			nv, err := normalize(val, append(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			s[i] = nv
		}
		return s, nil
	default:
		return v, nil
	}
}

func pointer(path []string) string {
	if len(path) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func show(v interface{}) string {
	var s string
	switch t := v.(type) {
	case nil:
		s = "null"
	case string:
		s = "string " + strconv.Quote(t)
	case json.Number:
		s = "json.Number " + t.String()
	case map[string]interface{}, []interface{}:
		b, err := json.Marshal(t)
		if err != nil {
			s = fmt.Sprintf("%T %v", v, v)
		} else {
			s = fmt.Sprintf("%T %s", v, b)
		}
	default:
		s = fmt.Sprintf("%T %v", v, v)
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func isIntegerNumber(n json.Number) bool {
	return !strings.ContainsAny(string(n), ".eE")
}

// compare appends one message per difference between YAML value y and JSON value j.
func compare(y, j interface{}, path []string, out *[]string) {
	add := func(format string, args ...interface{}) {
		*out = append(*out, pointer(path)+": "+fmt.Sprintf(format, args...))
	}
	mismatch := func() { add("type mismatch: yaml=%s json=%s", show(y), show(j)) }
	differ := func() { add("value differs: yaml=%s json=%s", show(y), show(j)) }

	switch yv := y.(type) {
	case nil:
		if j != nil {
			mismatch()
		}
	case bool:
		jv, ok := j.(bool)
		if !ok {
			mismatch()
		} else if yv != jv {
			differ()
		}
	case string:
		jv, ok := j.(string)
		if !ok {
			mismatch()
		} else if yv != jv {
			differ()
		}
	case int, int64, uint64:
		jv, ok := j.(json.Number)
		if !ok || !isIntegerNumber(jv) {
			mismatch()
			return
		}
		want, ok := new(big.Int).SetString(string(jv), 10)
		if !ok {
			add("unparsable JSON integer: yaml=%s json=%s", show(y), show(j))
			return
		}
		var got *big.Int
		switch n := yv.(type) {
		case int:
			got = big.NewInt(int64(n))
		case int64:
			got = big.NewInt(n)
		case uint64:
			got = new(big.Int).SetUint64(n)
		}
		if got.Cmp(want) != 0 {
			differ()
		}
	case float64:
		jv, ok := j.(json.Number)
		if !ok || isIntegerNumber(jv) {
			mismatch()
			return
		}
		f, err := strconv.ParseFloat(string(jv), 64)
		if err != nil {
			add("unparsable JSON float: yaml=%s json=%s", show(y), show(j))
			return
		}
		if math.IsNaN(yv) || yv != f || math.Signbit(yv) != math.Signbit(f) {
			differ()
		}
	case map[string]interface{}:
		jv, ok := j.(map[string]interface{})
		if !ok {
			mismatch()
			return
		}
		keys := make([]string, 0, len(yv)+len(jv))
		for k := range yv {
			keys = append(keys, k)
		}
		for k := range jv {
			if _, dup := yv[k]; !dup {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			a, inY := yv[k]
			b, inJ := jv[k]
			sub := append(append([]string{}, path...), k)
			switch {
			case !inJ:
				*out = append(*out, pointer(sub)+": only in yaml: yaml="+show(a)+" json=<missing>")
			case !inY:
				*out = append(*out, pointer(sub)+": only in json: yaml=<missing> json="+show(b))
			default:
				compare(a, b, sub, out)
			}
		}
	case []interface{}:
		jv, ok := j.([]interface{})
		if !ok {
			mismatch()
			return
		}
		if len(yv) != len(jv) {
			add("sequence length differs: yaml=%d json=%d", len(yv), len(jv))
		}
		for i := 0; i < len(yv) && i < len(jv); i++ {
			compare(yv[i], jv[i], append(append([]string{}, path...), strconv.Itoa(i)), out)
		}
	default:
		// yaml.v2 yields nothing else for plain Kubernetes YAML (timestamps stay
		// strings when decoding into interface{}); anything else cannot be JSON.
		add("unexpected YAML value type: yaml=%s json=%s", show(y), show(j))
	}
}

// endsWithEmptyDoc matches a final "---" marker followed only by blank, comment or "..." lines.
var endsWithEmptyDoc = regexp.MustCompile(`(?m)^---[ \t]*(#[^\n]*)?\n?(?:(?:\.\.\.)?[ \t]*(#[^\n]*)?\n)*(?:\.\.\.)?[ \t]*(#[^\n]*)?\z`)

func loadYAML(path string) ([]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.SetStrict(true) // duplicate mapping keys are errors
	var docs []interface{}
	for i := 0; ; i++ {
		var v interface{}
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i, err)
		}
		nv, err := normalize(v, nil)
		if err != nil {
			return nil, fmt.Errorf("document %d: %v", i, err)
		}
		docs = append(docs, nv)
	}
	// Drop a trailing empty document ("...\n---\n" at the end of the stream),
	// but not an explicit trailing "--- null".
	if n := len(docs); n > 0 && docs[n-1] == nil && endsWithEmptyDoc.Match(data) {
		docs = docs[:n-1]
	}
	return docs, nil
}

func loadJSONItems(path string) ([]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var top interface{}
	if err := dec.Decode(&top); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("trailing data after the JSON value")
	}
	obj, ok := top.(map[string]interface{})
	if !ok {
		return nil, fmt.Errorf("JSON top level is %T, expected an object", top)
	}
	if obj["apiVersion"] != "v1" || obj["kind"] != "List" {
		return nil, fmt.Errorf("JSON top level is not apiVersion v1 kind List (got %v/%v)", obj["apiVersion"], obj["kind"])
	}
	items, ok := obj["items"].([]interface{})
	if !ok {
		return nil, fmt.Errorf("JSON List has no 'items' array")
	}
	return items, nil
}

func describe(item interface{}) string {
	m, ok := item.(map[string]interface{})
	if !ok {
		return ""
	}
	kind, ok := m["kind"].(string)
	if !ok {
		return ""
	}
	name := "?"
	if meta, ok := m["metadata"].(map[string]interface{}); ok {
		if n, ok := meta["name"].(string); ok {
			name = n
		}
	}
	return fmt.Sprintf(" (%s/%s)", kind, name)
}

func checkPair(yamlPath, jsonPath string) []string {
	docs, err := loadYAML(yamlPath)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), "\n", " ")
		return []string{fmt.Sprintf("%s: YAML does not load: %s", yamlPath, msg)}
	}
	items, err := loadJSONItems(jsonPath)
	if err != nil {
		return []string{fmt.Sprintf("%s: JSON does not load: %v", jsonPath, err)}
	}
	var failures []string
	if len(docs) != len(items) {
		failures = append(failures, fmt.Sprintf("%s: document count differs: yaml=%d json items=%d", yamlPath, len(docs), len(items)))
	}
	for i := 0; i < len(docs) && i < len(items); i++ {
		var diffs []string
		compare(docs[i], items[i], nil, &diffs)
		for _, d := range diffs {
			failures = append(failures, fmt.Sprintf("%s: document %d%s: %s", yamlPath, i, describe(items[i]), d))
		}
	}
	return failures
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: %s DIR\n", os.Args[0])
		os.Exit(2)
	}
	dir := os.Args[1]
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(os.Stderr, "%s: %s is not a directory\n", label, dir)
		os.Exit(1)
	}
	yamls, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", label, err)
		os.Exit(1)
	}
	sort.Strings(yamls)
	passed, failed := 0, 0
	for _, y := range yamls {
		j := strings.TrimSuffix(y, ".yaml") + ".json"
		if st, err := os.Stat(j); err != nil || st.IsDir() {
			continue
		}
		if failures := checkPair(y, j); len(failures) > 0 {
			failed++
			for _, f := range failures {
				fmt.Println("FAIL " + f)
			}
		} else {
			passed++
		}
	}
	if passed+failed == 0 {
		fmt.Printf("%s: no .yaml/.json pairs found in %s\n", label, dir)
	}
	fmt.Printf("%s: %d passed, %d failed\n", label, passed, failed)
	if failed > 0 || passed+failed == 0 {
		os.Exit(1)
	}
}
