#!/usr/bin/env bash
# build.sh: builds the test control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok) from the Go modules pinned
# in this folder into a cache folder keyed on their versions, and does
# nothing when that folder is already complete. See
# docs/kubernetes-testenv.md.
#
#   tools/k8senv/build.sh              build (or find) the binaries
#   tools/k8senv/build.sh --print-dir  print the folder, build nothing
#
# The cache root is $MESHBENCH_K8S_CACHE, default
# $HOME/.cache/meshbench/k8s. internal/k8senv computes the same key (key.go
# there): change both together.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
GO="${GO:-go}"

usage() {
  echo "usage: $0 [--print-dir]" >&2
  exit 2
}
print_only=0
case "${1:-}" in
  "") ;;
  --print-dir) print_only=1 ;;
  *) usage ;;
esac
[ $# -le 1 ] || usage

# modversion FILE MODULE: the version FILE's require names for MODULE.
modversion() {
  local v
  v=$(awk -v m="$2" '{ if ($1 == "require") { $1 = ""; $0 = $0 } }
    $1 == m && $2 ~ /^v/ { print $2; exit }' "$1")
  if [ -z "$v" ]; then
    echo "k8s-env: $1 requires no $2" >&2
    exit 1
  fi
  echo "$v"
}

k8s=$(modversion "$here/go.mod" k8s.io/kubernetes)
etcd=$(modversion "$here/go.mod" go.etcd.io/etcd/server/v3)
kwok=$(modversion "$here/kwok/go.mod" sigs.k8s.io/kwok)
goos=$("$GO" env GOOS)
goarch=$("$GO" env GOARCH)
hash=$(cat "$here/go.mod" "$here/go.sum" "$here/kwok/go.mod" "$here/kwok/go.sum" "$here/build.sh" |
  sha256sum | cut -c1-12)
key="kubernetes-${k8s}_etcd-${etcd}_kwok-${kwok}_${goos}-${goarch}_${hash}"
root="${MESHBENCH_K8S_CACHE:-$HOME/.cache/meshbench/k8s}"
dir="$root/$key"

if [ "$print_only" = 1 ]; then
  echo "$dir"
  exit 0
fi

bins="etcd kube-apiserver kube-controller-manager kube-scheduler kwok"
complete=1
for b in $bins; do
  [ -x "$dir/$b" ] || complete=0
done
if [ "$complete" = 1 ]; then
  echo "k8s-env: cached in $dir"
  exit 0
fi

echo "k8s-env: building kubernetes $k8s, etcd $etcd, kwok $kwok into $dir (several minutes on empty caches)"
start=$(date +%s)
mkdir -p "$root"
# A folder left incomplete (a binary removed by hand) is built anew.
rm -rf "$dir"
tmp=$(mktemp -d "$root/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Static binaries, as Kubernetes' own release builds them; the version
# variables are those Kubernetes' build sets, so the binaries report
# v1.34.x (its compatibility-version logic reads them).
minor=${k8s#v*.}
minor=${minor%%.*}
major=${k8s#v}
major=${major%%.*}
kver="-X k8s.io/component-base/version.gitVersion=$k8s"
kver="$kver -X k8s.io/component-base/version.gitMajor=$major"
kver="$kver -X k8s.io/component-base/version.gitMinor=$minor"
kver="$kver -X k8s.io/component-base/version.gitTreeState=clean"
kver="$kver -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
export CGO_ENABLED=0
# -mod=readonly: the go.sum files here are complete; a build never edits them.
case " ${GOFLAGS:-} " in
  *" -mod="*) ;;
  *) export GOFLAGS="${GOFLAGS:-} -mod=readonly" ;;
esac

(cd "$here" && "$GO" build -trimpath -ldflags "-s -w $kver" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  k8s.io/kubernetes/cmd/kube-scheduler)
(cd "$here" && "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/etcd" go.etcd.io/etcd/server/v3)
(cd "$here/kwok" && "$GO" build -trimpath -ldflags "-s -w" -o "$tmp/kwok" sigs.k8s.io/kwok/cmd/kwok)

printf 'kubernetes %s\netcd %s\nkwok %s\n%s\n' "$k8s" "$etcd" "$kwok" "$("$GO" version)" > "$tmp/VERSIONS"
# Into place in one rename, so a half-built folder is never taken as the
# cache; a concurrent build that finished first wins.
if ! mv -T "$tmp" "$dir" 2>/dev/null; then
  echo "k8s-env: $dir appeared meanwhile; keeping it"
fi
trap - EXIT
rm -rf "$tmp"
echo "k8s-env: built in $(( $(date +%s) - start ))s into $dir"
