package scenarios

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"
)

// marshalJSON encodes v as encoding/json would, following the json tags
// (names, omitempty, "-"), except that time.Duration values are written as
// strings ("250ms") and structs always write their fields in declaration
// order. Map keys are sorted. Types with their own MarshalJSON below the
// top level (Rate, Threshold, Target) are encoded by it.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	if err := encodeValue(&buf, reflect.ValueOf(v), true); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

func encodeValue(buf *bytes.Buffer, v reflect.Value, top bool) error {
	t := v.Type()
	if t == durationType {
		return encodeJSON(buf, time.Duration(v.Int()).String())
	}
	if !top && t.Kind() != reflect.Pointer && t.Implements(marshalerType) {
		return encodeJSON(buf, v.Interface())
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			buf.WriteString("null")
			return nil
		}
		return encodeValue(buf, v.Elem(), false)
	case reflect.Struct:
		return encodeStruct(buf, v)
	case reflect.Slice: // nil as [], since null is not a list when the JSON is loaded back
		buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeValue(buf, v.Index(i), false); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case reflect.Map: // nil as {}, as for slices
		keys := make([]string, 0, v.Len())
		for _, k := range v.MapKeys() {
			keys = append(keys, k.String())
		}
		slices.Sort(keys)
		buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := encodeJSON(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := encodeValue(buf, v.MapIndex(reflect.ValueOf(k).Convert(t.Key())), false); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case reflect.String:
		return encodeJSON(buf, v.String())
	case reflect.Bool:
		buf.WriteString(strconv.FormatBool(v.Bool()))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		buf.WriteString(strconv.FormatInt(v.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		buf.WriteString(strconv.FormatUint(v.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		return encodeJSON(buf, v.Float())
	default:
		return fmt.Errorf("scenarios: cannot encode %s", t)
	}
	return nil
}

func encodeStruct(buf *bytes.Buffer, v reflect.Value) error {
	info := infoOf(v.Type())
	buf.WriteByte('{')
	first := true
	for _, f := range info.fields {
		fv := v.Field(f.index)
		if f.omitEmpty && fv.IsZero() { // unlike encoding/json, empty structs are omitted too
			continue
		}
		if !first {
			buf.WriteByte(',')
		}
		first = false
		if err := encodeJSON(buf, f.name); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := encodeValue(buf, fv, false); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	buf.WriteByte('}')
	return nil
}

// marshalKeys encodes struct v as an object of exactly the given keys,
// zero values included. Types whose valid keys depend on a type key
// (distributions, shapes) use it so that their JSON loads back unchanged:
// omitting a zero would make a required parameter disappear.
func marshalKeys(v any, keys []string) ([]byte, error) {
	rv := reflect.ValueOf(v)
	info := infoOf(rv.Type())
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, key := range keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := encodeJSON(&buf, key); err != nil {
			return nil, err
		}
		buf.WriteByte(':')
		if err := encodeValue(&buf, rv.Field(info.fields[info.byName[key]].index), false); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// encodeJSON appends encoding/json's encoding of v, without HTML escaping.
func encodeJSON(buf *bytes.Buffer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	return nil
}
