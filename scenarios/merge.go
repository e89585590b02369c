package scenarios

import (
	"fmt"
	"reflect"
)

// resolveVariants gives every variant its full policy: a deep copy of the
// scenario's policy with the variant's policy keys decoded onto it. Decoding
// onto the copy is the deep merge: a mapping sets only the keys it writes,
// so nested blocks merge key by key, a key written in the variant wins
// (even when written as 0 or false), lists are replaced whole, a block the
// base lacks starts from its defaults, and null removes a block. A file
// without variants gets one, named "default", with the scenario's policy.
//
// The variant's keys were already decoded once, onto defaults, with issues
// reported; this second decoding is silent.
func resolveVariants(d *decoder, s *Scenario) {
	if len(s.Variants) == 0 {
		s.Variants = []Variant{{Name: "default", Policy: deepCopy(s.Policy)}}
		return
	}
	for i := range s.Variants {
		merged := deepCopy(s.Policy)
		mergeImported(d, i, &merged)
		if n, ok := d.nodes[fmt.Sprintf("variants[%d].policy", i)]; ok {
			d.silent = true
			d.value(n, fmt.Sprintf("variants[%d].policy", i), reflect.ValueOf(&merged).Elem())
			d.silent = false
		}
		s.Variants[i].Policy = merged
	}
}

// deepCopy copies v so that the copy shares no pointer, slice or map with it.
func deepCopy[T any](v T) T {
	var out T
	copyValue(reflect.ValueOf(&out).Elem(), reflect.ValueOf(v))
	return out
}

func copyValue(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		p := reflect.New(src.Type().Elem())
		copyValue(p.Elem(), src.Elem())
		dst.Set(p)
	case reflect.Struct:
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				copyValue(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			copyValue(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			v := reflect.New(src.Type().Elem()).Elem()
			copyValue(v, iter.Value())
			m.SetMapIndex(iter.Key(), v)
		}
		dst.Set(m)
	default:
		dst.Set(src)
	}
}
