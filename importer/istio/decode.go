// Package istio imports Istio networking and security resources into
// meshbench scenario keys (see docs/import.md for the mapping). Resources
// are decoded with Istio's own Go types (istio.io/client-go wrapping the
// specs of istio.io/api) through sigs.k8s.io/yaml; positions, which that
// path loses, come from parsing the same text with goccy/go-yaml.
package istio

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"

	networking "istio.io/client-go/pkg/apis/networking/v1"
	security "istio.io/client-go/pkg/apis/security/v1"
	"sigs.k8s.io/yaml"

	"github.com/meshbench/meshbench/importer"
)

// Resource kinds the importer reads.
const (
	KindVirtualService        = "VirtualService"
	KindDestinationRule       = "DestinationRule"
	KindServiceEntry          = "ServiceEntry"
	KindGateway               = "Gateway"
	KindPeerAuthentication    = "PeerAuthentication"
	KindAuthorizationPolicy   = "AuthorizationPolicy"
	KindRequestAuthentication = "RequestAuthentication"
)

var kindGroups = map[string]string{
	KindVirtualService: "networking.istio.io", KindDestinationRule: "networking.istio.io",
	KindServiceEntry: "networking.istio.io", KindGateway: "networking.istio.io",
	KindPeerAuthentication: "security.istio.io", KindAuthorizationPolicy: "security.istio.io",
	KindRequestAuthentication: "security.istio.io",
}

var groupVersions = map[string][]string{
	"networking.istio.io": {"v1", "v1beta1", "v1alpha3"},
	"security.istio.io":   {"v1", "v1beta1"},
}

// resource is one decoded Istio object with the document it came from.
type resource struct {
	doc  *importer.Document
	kind string
	name string
	obj  any // *networking.VirtualService, ...
}

func (r *resource) label() string { return r.kind + " " + r.name }

func newObject(kind string) any {
	switch kind {
	case KindVirtualService:
		return new(networking.VirtualService)
	case KindDestinationRule:
		return new(networking.DestinationRule)
	case KindServiceEntry:
		return new(networking.ServiceEntry)
	case KindGateway:
		return new(networking.Gateway)
	case KindPeerAuthentication:
		return new(security.PeerAuthentication)
	case KindAuthorizationPolicy:
		return new(security.AuthorizationPolicy)
	case KindRequestAuthentication:
		return new(security.RequestAuthentication)
	}
	return nil
}

// decodeDoc checks a document's apiVersion and kind and decodes it with
// Istio's types. Problems are Invalid findings located in the document.
func decodeDoc(doc *importer.Document) (*resource, importer.Findings) {
	kindN, apiN := doc.Node("kind"), doc.Node("apiVersion")
	kind, _ := importer.Scalar(kindN)
	api, _ := importer.Scalar(apiN)
	name, _ := importer.Scalar(doc.Node("metadata.name"))
	label := strings.TrimSpace(kind + " " + name)
	switch {
	case !doc.Has("kind"):
		return nil, importer.Findings{doc.At("", label, importer.Invalid, "missing key \"kind\": an Istio resource names its kind (VirtualService, DestinationRule, ...)")}
	case kindGroups[kind] == "":
		return nil, importer.Findings{doc.AtValue("kind", label, importer.Invalid, "unknown kind %q (the importer reads %s)", kind, strings.Join(kindList(), ", "))}
	case !doc.Has("apiVersion"):
		return nil, importer.Findings{doc.At("", label, importer.Invalid, "missing key \"apiVersion\"")}
	}
	group, version, _ := strings.Cut(api, "/")
	if group != kindGroups[kind] || !slices.Contains(groupVersions[group], version) {
		var want []string
		for _, v := range groupVersions[kindGroups[kind]] {
			want = append(want, kindGroups[kind]+"/"+v)
		}
		return nil, importer.Findings{doc.AtValue("apiVersion", label, importer.Invalid, "apiVersion %q is not one of %s for kind %s", api, strings.Join(want, ", "), kind)}
	}
	if name == "" {
		return nil, importer.Findings{doc.At("metadata", label, importer.Invalid, "missing metadata.name")}
	}
	obj := newObject(kind)
	decode := func(text []byte) error {
		return yaml.Unmarshal(text, newObject(kind))
	}
	if err := yaml.Unmarshal(doc.Text, obj); err != nil {
		path := locate(doc.Text, decode)
		return nil, importer.Findings{doc.At(path, label, importer.Invalid, "%s", cleanError(err))}
	}
	return &resource{doc: doc, kind: kind, name: name, obj: obj}, nil
}

func kindList() []string {
	var ks []string
	for k := range kindGroups {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

var protoNoise = regexp.MustCompile(`^(error unmarshaling JSON: while decoding JSON: )+`)

func cleanError(err error) string {
	msg := protoNoise.ReplaceAllString(err.Error(), "")
	msg = strings.TrimPrefix(msg, "json: ")
	return "wrong type: " + msg
}

// locate finds the key path whose value the decoder refuses: the deepest
// key or item whose removal makes the document decode. The decoders
// sigs.k8s.io/yaml goes through report no position, so this is how a
// wrong type gets its line and column.
func locate(text []byte, decode func([]byte) error) string {
	js, err := yaml.YAMLToJSON(text)
	if err != nil {
		return ""
	}
	var root any
	if json.Unmarshal(js, &root) != nil {
		return ""
	}
	var path []any // string keys and int indexes
	for {
		cur := at(root, path)
		found := false
		for _, k := range children(cur) {
			trial := clone(root)
			remove(trial, append(slices.Clone(path), k))
			b, _ := json.Marshal(trial)
			if decode(b) == nil {
				path = append(path, k)
				found = true
				break
			}
		}
		if !found {
			break
		}
	}
	var b strings.Builder
	for _, k := range path {
		switch k := k.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			b.WriteString("[" + strconv.Itoa(k) + "]")
		}
	}
	return b.String()
}

func at(v any, path []any) any {
	for _, k := range path {
		switch k := k.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

func children(v any) []any {
	var out []any
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, k)
		}
	case []any:
		for i := range v {
			out = append(out, i)
		}
	}
	return out
}

func clone(v any) any {
	b, _ := json.Marshal(v)
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

func remove(root any, path []any) {
	parent := at(root, path[:len(path)-1])
	switch k := path[len(path)-1].(type) {
	case string:
		delete(parent.(map[string]any), k)
	case int:
		// Replace the item by an empty value of no type, keeping indexes.
		l := parent.([]any)
		l[k] = map[string]any{}
	}
}

// checkFields reports every key the document writes that meshbench does
// not represent (see importer.Unrepresented).
func checkFields(r *resource, supported []string) importer.Findings {
	return importer.Unrepresented(r.doc, func(string) string { return r.label() }, supported, func(pat string) bool {
		return pat == "apiVersion" || pat == "kind" || strings.HasPrefix(pat, "metadata")
	}, importer.CamelCase)
}
