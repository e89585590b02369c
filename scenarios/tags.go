package scenarios

import (
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// fieldInfo is what the decoder knows about one struct field. The key comes
// from the json tag; the constraints from the jsonschema tag, so that the
// JSON Schema and the loader share one definition of each rule: required,
// enum=…, pattern=…, minimum=…, maximum=…, exclusiveMinimum=…,
// exclusiveMaximum=…, minItems=…. For lists, enum, pattern and the numeric
// bounds apply to each item, as in the schema. The noun tag names the
// field's kind of value in messages ("unknown balancer ...").
type fieldInfo struct {
	name      string
	index     int
	omitEmpty bool
	required  bool
	enum      []string
	pattern   *regexp.Regexp
	min, max  *float64
	exclMin   *float64
	exclMax   *float64
	minItems  int
	noun      string
}

// structInfo lists a struct type's fields by key.
type structInfo struct {
	fields []fieldInfo
	byName map[string]int // key → position in fields
	names  []string       // keys, in declaration order, for hints
}

var structInfos sync.Map // reflect.Type → *structInfo

// infoOf returns the (cached) field information of struct type t.
func infoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}}
	for i := range t.NumField() {
		sf := t.Field(i)
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if !sf.IsExported() || name == "-" || name == "" {
			continue
		}
		fi := fieldInfo{
			name:      name,
			index:     i,
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
			noun:      sf.Tag.Get("noun"),
		}
		for _, kw := range strings.Split(sf.Tag.Get("jsonschema"), ",") {
			key, val, _ := strings.Cut(kw, "=")
			switch key {
			case "required":
				fi.required = true
			case "enum":
				fi.enum = append(fi.enum, val)
			case "pattern":
				fi.pattern = regexp.MustCompile(val)
			case "minimum":
				fi.min = parseBound(val)
			case "maximum":
				fi.max = parseBound(val)
			case "exclusiveMinimum":
				fi.exclMin = parseBound(val)
			case "exclusiveMaximum":
				fi.exclMax = parseBound(val)
			case "minItems":
				fi.minItems, _ = strconv.Atoi(val)
			}
		}
		si.byName[name] = len(si.fields)
		si.fields = append(si.fields, fi)
		si.names = append(si.names, name)
	}
	v, _ := structInfos.LoadOrStore(t, si)
	return v.(*structInfo)
}

// patternHelp explains the patterns of the tags in words.
var patternHelp = map[string]string{
	`^[a-z0-9-]+$`:      "use lower-case letters, digits and '-'",
	`^[a-z0-9_-]+$`:     "use lower-case letters, digits, '-' and '_'",
	`^[a-zA-Z0-9_.-]+$`: "use letters, digits, '-', '_' and '.'",
	`^/`:                `it must start with "/"`,
}

func parseBound(s string) *float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic("scenarios: bad bound in jsonschema tag: " + s) // a programmer error in this package's tags
	}
	return &v
}

// checkNumber returns the message for a number outside the field's bounds.
func (f *fieldInfo) checkNumber(v float64) string {
	switch {
	case f.min != nil && v < *f.min:
		return "must be at least " + fmtNum(*f.min) + ", got " + fmtNum(v)
	case f.max != nil && v > *f.max:
		return "must be at most " + fmtNum(*f.max) + ", got " + fmtNum(v)
	case f.exclMin != nil && v <= *f.exclMin:
		return "must be greater than " + fmtNum(*f.exclMin) + ", got " + fmtNum(v)
	case f.exclMax != nil && v >= *f.exclMax:
		return "must be less than " + fmtNum(*f.exclMax) + ", got " + fmtNum(v)
	}
	return ""
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
