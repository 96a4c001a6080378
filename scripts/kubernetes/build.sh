#!/usr/bin/env bash
# Builds the binaries of a single-node Kubernetes v1.20.2 from Debian's archive only (no Go proxy,
# no release downloads are reachable here): bookworm's `kubernetes` source package (the complete
# upstream tree with vendor/), Go 1.19 and reflect2 1.0.2 from .debs unpacked into a private folder.
#
# The result is cached per machine under $ISOLATION_K8S_CACHE/<key>/bin, the key naming the source
# version and a hash of this script (which holds every patch), so a second run takes seconds.
# The build happens in a temporary folder renamed into place at the end: an interrupted build
# leaves nothing a later run would mistake for a finished one. Prints the bin folder on stdout.
set -euo pipefail

K8S_DEB_VERSION=1.20.5+really1.20.2-1.1+deb12u1
K8S_VERSION=v1.20.2
GO_DEBS=(golang-1.19-go golang-1.19-src)
REFLECT2_DEB=golang-github-modern-go-reflect2-dev
BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)

CACHE=${ISOLATION_K8S_CACHE:-/var/cache/airflow-isolation/kubernetes}
SCRIPT_HASH=$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)
KEY=${K8S_DEB_VERSION//[^A-Za-z0-9.+-]/_}-$SCRIPT_HASH
OUT=$CACHE/$KEY

log() { echo "[k8s-build $(date +%T)] $*" >&2; }

complete() {
  local b
  for b in "${BINARIES[@]}" pause; do [[ -x $1/bin/$b ]] || return 1; done
}

if complete "$OUT"; then
  log "cached: $OUT/bin"
  echo "$OUT/bin"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then
  log "another build holds $CACHE/.build.lock; waiting for it"
  flock 9
  if complete "$OUT"; then echo "$OUT/bin"; exit 0; fi
fi

# Downloads are shared between keys: they depend only on the archive versions.
DL=$CACHE/downloads
APT_DIR=$DL/apt
mkdir -p "$APT_DIR"/{lists/partial,cache/archives/partial,sourceparts}
# Same mirror as the system's; a private list so /etc/apt stays untouched.
MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | sed -nE 's,^(deb +(\[[^]]*\] +)?|URIs: +)(https?://[^ ]+/debian)/? .*$,\3,p; s,^(deb +(\[[^]]*\] +)?|URIs: +)(https?://[^ ]+/debian)/?$,\3,p' \
  | sed -n 1p || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
MIRROR=${MIRROR%/}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$APT_DIR/sources.list.new" <<EOF
deb [signed-by=$KEYRING] $MIRROR bookworm main
deb-src [signed-by=$KEYRING] $MIRROR bookworm main
deb [signed-by=$KEYRING] ${MIRROR%/debian}/debian-security bookworm-security main
deb-src [signed-by=$KEYRING] ${MIRROR%/debian}/debian-security bookworm-security main
EOF
mv "$APT_DIR/sources.list.new" "$APT_DIR/sources.list"
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list" -o "Dir::Etc::SourceParts=$APT_DIR/sourceparts"
  -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" -o "APT::Sandbox::User=root")

have_downloads() {
  ls "$DL"/kubernetes_*.orig.tar.gz >/dev/null 2>&1 && ls "$DL"/golang-1.19-go_*.deb >/dev/null 2>&1 \
    && ls "$DL"/golang-1.19-src_*.deb >/dev/null 2>&1 && ls "$DL"/${REFLECT2_DEB}_*.deb >/dev/null 2>&1
}
if ! have_downloads; then
  log "fetching sources from $MIRROR (private apt config in $APT_DIR)"
  apt-get "${APT_OPTS[@]}" -qq update
  (cd "$DL" && apt-get "${APT_OPTS[@]}" -qq source --download-only "kubernetes=$K8S_DEB_VERSION" \
    && apt-get "${APT_OPTS[@]}" -qq download "${GO_DEBS[@]}" "$REFLECT2_DEB")
fi

# Everything below happens in a temporary folder; only the final rename publishes it.
TMP=$(mktemp -d "$CACHE/.build-$KEY.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
log "building in $TMP (log: $TMP/build.log)"

for deb in "$DL"/golang-1.19-go_*.deb "$DL"/golang-1.19-src_*.deb "$DL"/${REFLECT2_DEB}_*.deb; do
  dpkg-deb -x "$deb" "$TMP/debs"
done
export GOROOT=$TMP/debs/usr/lib/go-1.19
export PATH=$GOROOT/bin:$PATH
export GOPATH=$TMP/gopath GO111MODULE=off CGO_ENABLED=0 GOFLAGS=
export GOCACHE=$CACHE/gocache
go version >&2

SRC=$GOPATH/src/k8s.io/kubernetes
mkdir -p "$SRC"
tar -xzf "$DL"/kubernetes_*.orig.tar.gz -C "$SRC" --strip-components=1

# reflect2 1.0.1 (vendored) reads runtime internals that changed in Go 1.18; 1.0.2 is fixed.
rm -rf "$SRC/vendor/github.com/modern-go/reflect2"
cp -a "$TMP/debs/usr/share/gocode/src/github.com/modern-go/reflect2" "$SRC/vendor/github.com/modern-go/reflect2"
find "$SRC/vendor/github.com/modern-go/reflect2" -name '*_test.go' -delete

# kubelet: its log folders are constants (/var/log/pods, /var/log/containers); make them follow
# $KUBELET_LOG_DIR so a cluster on a shared machine keeps its pods' logs under its own state folder.
patch_const_to_var() { # file name replacement-expression
  local file=$1 name=$2 expr=$3
  grep -qE "^[[:space:]]+$name = \"/var/log/" "$file" || { log "patch target $name not found in $file"; exit 1; }
  sed -i -E "/^[[:space:]]+$name = \"\/var\/log\//d" "$file"
  printf '\nvar %s = %s\n' "$name" "$expr" >>"$file"
}
patch_const_to_var "$SRC/pkg/kubelet/kuberuntime/kuberuntime_manager.go" podLogsRootDirectory 'kubeletLogDir("pods")'
patch_const_to_var "$SRC/pkg/kubelet/kuberuntime/legacy.go" legacyContainerLogsDir 'kubeletLogDir("containers")'
patch_const_to_var "$SRC/pkg/kubelet/kubelet.go" ContainerLogsDir 'kubeletLogDir("containers")'
for pkg in kuberuntime:pkg/kubelet/kuberuntime kubelet:pkg/kubelet; do
  cat >"$SRC/${pkg#*:}/zz_isolation_log_dir.go" <<EOF
package ${pkg%%:*}

import (
	"os"
	"path/filepath"
)

// kubeletLogDir places the kubelet's log folders under \$KUBELET_LOG_DIR (default /var/log).
func kubeletLogDir(name string) string {
	if root := os.Getenv("KUBELET_LOG_DIR"); root != "" {
		return filepath.Join(root, name)
	}
	return filepath.Join("/var/log", name)
}
EOF
done
# kubelet: only warn about host sysctls (kernel.panic_on_oops, vm.overcommit_memory) instead of
# changing them on a machine it shares.
sed -i 's/^\tb := KernelTunableModify$/\tb := KernelTunableWarn/' "$SRC/pkg/kubelet/cm/container_manager_linux.go"
grep -q '^	b := KernelTunableWarn$' "$SRC/pkg/kubelet/cm/container_manager_linux.go" \
  || { log "KernelTunableWarn patch did not apply"; exit 1; }

cd "$SRC"
{
  # The tarball lacks pkg/generated/openapi/zz_generated.openapi.go (upstream generates it with
  # `make gen_openapi`); same inputs as build/root/Makefile.generated_files' KUBE target.
  log "generating OpenAPI definitions"
  go build -o "$TMP/tools/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
  dirs=$( { find pkg cmd plugin -name '*.go' -not -name '*_test.go' -not -path '*/testdata/*' -print0;
            find -L vendor -name '*.go' -not -name '*_test.go' -not -path '*/testdata/*' \
              -not -path 'vendor/k8s.io/code-generator/*' -not -path 'vendor/k8s.io/sample-apiserver/*' -print0; } \
    | { xargs -0 grep -l '^// *+k8s:openapi-gen=' || true; } | xargs -n1 dirname | LC_ALL=C sort -u \
    | sed 's|^|k8s.io/kubernetes/|' | paste -sd, -)
  "$TMP/tools/openapi-gen" --logtostderr -i "$dirs" -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$TMP/openapi-violations.report"
  test -s pkg/generated/openapi/zz_generated.openapi.go

  vpkg=k8s.io/kubernetes/vendor/k8s.io
  ldflags="-s -w"
  for p in $vpkg/component-base/version $vpkg/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=20"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    ldflags+=" -X $p.gitCommit=debian-$K8S_DEB_VERSION"
  done
  mkdir -p "$TMP/out/bin"
  for b in "${BINARIES[@]}"; do
    log "building $b"
    go build -trimpath -ldflags "$ldflags" -o "$TMP/out/bin/$b" "./cmd/$b"
  done
  log "building pause"
  gcc -Os -Wall -Werror -static -DVERSION=v3.4.1-isolation -o "$TMP/out/bin/pause" build/pause/linux/pause.c
} >>"$TMP/build.log" 2>&1 || { log "build failed; last lines of $TMP/build.log:"; tail -40 "$TMP/build.log" >&2; cp "$TMP/build.log" "$CACHE/last-failed-build.log"; exit 1; }

cp "$TMP/build.log" "$TMP/out/build.log"
echo "$K8S_DEB_VERSION" >"$TMP/out/SOURCE_VERSION"
complete "$TMP/out"
rm -rf "$OUT"
mv "$TMP/out" "$OUT"
log "built $OUT/bin"
echo "$OUT/bin"
