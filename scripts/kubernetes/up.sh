#!/usr/bin/env bash
# Starts a single-node Kubernetes v1.20.2 on this machine from the binaries build.sh made: etcd, the
# control plane, a containerd of its own (own root, state and socket, so Docker's is untouched), a
# registry on 127.0.0.1:5001 standing in for docker.io, and the kubelet. Everything lives under
# $ISOLATION_K8S_STATE (default /var/lib/isolation-kubernetes); every PID is recorded there for
# down.sh. Idempotent: a healthy recorded cluster is left as it is.
#
# Nothing can be pulled from the internet here, so pods pull through containerd's CRI mirrors:
# 127.0.0.1:5000 (the project's registry) and docker.io -> 127.0.0.1:5001, which serves the images
# this script builds from Debian packages: the pause image (from the Kubernetes tree) and
# library/alpine:3.24.2 (busybox), the KubernetesPodOperator's xcom sidecar image.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

READY_TIMEOUT=${ISOLATION_K8S_READY_TIMEOUT:-240}
PAUSE_IMAGE=docker.io/isolation/pause:3.4.1
SIDECAR_IMAGE=docker.io/library/alpine:3.24.2
SERVICE_CIDR=10.97.0.0/24
FIRST_SERVICE_IP=10.97.0.1
POD_SUBNET=10.244.0.0/24
NODE_NAME=$(hostname | tr '[:upper:]' '[:lower:]')
NODE_IP=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -nE 's/.* src ([0-9.]+).*/\1/p' | head -1 || true)
NODE_IP=${NODE_IP:-$(hostname -I | awk '{print $1}')}

kubectl_admin() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# --- health -------------------------------------------------------------------------------------

apiserver_ready() {
  curl -fsS --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

# The node is Ready with a heartbeat the current kubelet sent (a restarted cluster otherwise shows
# the previous kubelet's stale Ready).
node_ready() {
  local since=$1 json
  json=$(kubectl_admin get node "$NODE_NAME" -o json 2>/dev/null) || return 1
  jq -e --argjson since "$since" '.status.conditions[] | select(.type == "Ready")
      | .status == "True" and (.lastHeartbeatTime | fromdateiso8601) >= $since' <<<"$json" >/dev/null
}

default_service_account_ready() {
  [[ -n $(kubectl_admin -n default get serviceaccount default -o 'jsonpath={.secrets[0].name}' 2>/dev/null) ]]
}

all_running() {
  local c
  for c in "${COMPONENTS[@]}"; do pid_of "$c" >/dev/null || return 1; done
}

# wait_for DESCRIPTION LOG-NAMES CHECK...: polls CHECK until it succeeds or READY_TIMEOUT passes,
# failing with the tails of the named logs.
wait_for() {
  local what=$1 logs=$2 deadline=$((SECONDS + READY_TIMEOUT)) name
  shift 2
  until "$@"; do
    for name in $logs; do
      if ! pid_of "$name" >/dev/null; then
        log "$name exited while waiting for $what; last lines of $LOGS/$name.log:"
        tail -40 "$LOGS/$name.log" >&2
        exit 1
      fi
    done
    if ((SECONDS >= deadline)); then
      log "timed out after ${READY_TIMEOUT}s waiting for $what"
      for name in $logs; do log "last lines of $LOGS/$name.log:"; tail -40 "$LOGS/$name.log" >&2; done
      exit 1
    fi
    sleep 1
  done
  log "$what: ready"
}

# start NAME COMMAND...: runs COMMAND in its own session, logging to $LOGS/NAME.log, and records its
# PID with its executable (so down.sh never signals a reused PID).
start() {
  local name=$1 exe pid i
  shift
  exe=$(readlink -f "$(command -v "$1")")
  setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  pid=$!
  # setsid execs in place (the child is not a group leader), so $! becomes the command itself.
  for i in $(seq 50); do
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$exe" ]] && break
    [[ -d /proc/$pid ]] || break
    sleep 0.1
  done
  if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) != "$exe" ]]; then
    log "$name did not start as PID $pid; last lines of $LOGS/$name.log:"
    tail -40 "$LOGS/$name.log" >&2
    exit 1
  fi
  echo "$pid $exe" >"$PIDS/$name"
  log "$name started (PID $pid, log $LOGS/$name.log)"
}

# --- prerequisites ------------------------------------------------------------------------------

install_packages() {
  local missing=() p
  for p in etcd-server etcd-client containernetworking-plugins containerd runc busybox-static openssl \
    docker-registry curl jq iproute2; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- certificates and kubeconfigs ---------------------------------------------------------------

# cert NAME CN ORG USAGE [SAN]: a key and a certificate signed by the cluster CA.
cert() {
  local name=$1 cn=$2 org=$3 usage=$4 san=${5:-} subj
  [[ -s $PKI/$name.crt ]] && return 0
  subj="/CN=$cn"
  [[ -n $org ]] && subj="/O=$org$subj"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/$name.key" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$PKI/$name.ext"
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt.tmp" 2>/dev/null
  mv "$PKI/$name.crt.tmp" "$PKI/$name.crt"
}

make_pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [[ ! -s $PKI/ca.crt ]]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$PKI/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$PKI/ca.key" -subj "/CN=isolation-kubernetes-ca" -days 3650 \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -out "$PKI/ca.crt.tmp" 2>/dev/null
    mv "$PKI/ca.crt.tmp" "$PKI/ca.crt"
  fi
  # The SAN list depends on the host; a renamed host gets a new serving certificate.
  local san="DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  san+=",DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE_NAME"
  san+=",IP:127.0.0.1,IP:$NODE_IP,IP:$FIRST_SERVICE_IP"
  [[ -f $PKI/apiserver.ext ]] && ! grep -qF "$san" "$PKI/apiserver.ext" && rm -f "$PKI/apiserver.crt"
  cert apiserver kube-apiserver "" serverAuth "$san"
  cert admin admin system:masters clientAuth
  cert controller-manager system:kube-controller-manager "" clientAuth
  cert scheduler system:kube-scheduler "" clientAuth
  [[ -f $PKI/kubelet.ext ]] && ! openssl x509 -in "$PKI/kubelet.crt" -noout -subject | grep -q "system:node:$NODE_NAME\$" \
    && rm -f "$PKI/kubelet.crt"
  cert kubelet "system:node:$NODE_NAME" system:nodes clientAuth
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  if [[ ! -s $PKI/sa.pub ]]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$PKI/sa.key" 2>/dev/null
    openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub.tmp"
    mv "$PKI/sa.pub.tmp" "$PKI/sa.pub"
  fi
}

# kubeconfig FILE CERT-NAME: a kubeconfig for the apiserver authenticating with PKI/CERT-NAME.crt.
kubeconfig() {
  local file=$1 name=$2
  cat >"$file.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: isolation
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$name.crt")
    client-key-data: $(base64 -w0 "$PKI/$name.key")
contexts:
- name: isolation
  context: {cluster: isolation, user: $name, namespace: default}
current-context: isolation
EOF
  chmod 600 "$file.tmp"
  mv "$file.tmp" "$file"
}

# --- images -------------------------------------------------------------------------------------

# oci_image DIR ROOTFS NAME ENTRYPOINT-JSON: a single-layer OCI image layout in DIR (and DIR.tar for
# `ctr images import`), named NAME through containerd's image-name annotation.
oci_image() {
  local dir=$1 rootfs=$2 name=$3 entrypoint=$4 layer diff_id layer_digest config_digest manifest_digest
  rm -rf "$dir" && mkdir -p "$dir/blobs/sha256"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$rootfs" -cf "$dir/layer.tar" .
  diff_id=$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)
  gzip -n -9 "$dir/layer.tar"
  layer_digest=$(sha256sum "$dir/layer.tar.gz" | cut -d' ' -f1)
  mv "$dir/layer.tar.gz" "$dir/blobs/sha256/$layer_digest"
  jq -cn --arg diff "sha256:$diff_id" --argjson ep "$entrypoint" \
    '{architecture: "amd64", os: "linux", config: {Entrypoint: $ep, Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$diff]}, history: [{created_by: "scripts/kubernetes/up.sh"}]}' \
    >"$dir/config.json"
  config_digest=$(sha256sum "$dir/config.json" | cut -d' ' -f1)
  mv "$dir/config.json" "$dir/blobs/sha256/$config_digest"
  jq -cn --arg c "sha256:$config_digest" --argjson cs "$(stat -c %s "$dir/blobs/sha256/$config_digest")" \
    --arg l "sha256:$layer_digest" --argjson ls "$(stat -c %s "$dir/blobs/sha256/$layer_digest")" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls}]}' \
    >"$dir/manifest.json"
  manifest_digest=$(sha256sum "$dir/manifest.json" | cut -d' ' -f1)
  cp "$dir/manifest.json" "$dir/blobs/sha256/$manifest_digest"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
  jq -cn --arg m "sha256:$manifest_digest" --argjson ms "$(stat -c %s "$dir/manifest.json")" --arg name "$name" \
    '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
      platform: {architecture: "amd64", os: "linux"}, annotations: {"io.containerd.image.name": $name}}]}' \
    >"$dir/index.json"
  tar -C "$dir" -cf "$dir.tar" oci-layout index.json blobs
}

# push_image DIR REPOSITORY TAG: uploads an image from oci_image to the docker.io mirror registry.
push_image() {
  local dir=$1 repo=$2 tag=$3 base="http://$MIRROR_REGISTRY_ADDR" blob digest location sep
  for blob in "$dir"/blobs/sha256/*; do
    digest=sha256:$(basename "$blob")
    curl -fsS -o /dev/null -I "$base/v2/$repo/blobs/$digest" 2>/dev/null && continue
    location=$(curl -fsS -D - -o /dev/null -X POST "$base/v2/$repo/blobs/uploads/" \
      | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
    [[ $location == /* ]] && location=$base$location
    sep='?' && [[ $location == *\?* ]] && sep='&'
    curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' \
      --data-binary "@$blob" "$location${sep}digest=$digest"
  done
  curl -fsS -o /dev/null -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
    --data-binary "@$dir/manifest.json" "$base/v2/$repo/manifests/$tag"
}

build_images() {
  local work=$STATE/images rootfs applet
  mkdir -p "$work"
  rootfs=$work/pause-rootfs && rm -rf "$rootfs" && mkdir -p "$rootfs"
  cp "$BIN/pause" "$rootfs/pause"
  oci_image "$work/pause" "$rootfs" "$PAUSE_IMAGE" '["/pause"]'

  # busybox-static is enough for the xcom sidecar (sh, sleep, cat, kill, trap).
  rootfs=$work/alpine-rootfs && rm -rf "$rootfs" && mkdir -p "$rootfs"/{bin,etc,tmp,root,proc,sys,dev}
  chmod 1777 "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
  done
  # Debian's busybox has no pgrep applet; the operator stops the sidecar with
  # `kill -2 $(pgrep -u $(id -u) -f 'sh')`. This one matches the command line (NULs dropped) as a
  # substring, owned by the caller, and forks nothing (a fork would list a PID gone before kill sees it).
  cat >"$rootfs/bin/pgrep" <<'EOF'
#!/bin/sh
own= pattern=
while [ $# -gt 0 ]; do
  case $1 in
    -u) own=1; shift 2 ;;
    -f) shift ;;
    *) pattern=$1; shift ;;
  esac
done
status=1
for dir in /proc/[0-9]*; do
  [ "${dir#/proc/}" = "$$" ] && continue
  [ -n "$own" ] && ! [ -O "$dir" ] && continue
  read -r name <"$dir/cmdline" 2>/dev/null || [ -n "$name" ] || continue
  case $name in *"$pattern"*) echo "${dir#/proc/}"; status=0 ;; esac
  name=
done
exit $status
EOF
  chmod 755 "$rootfs/bin/pgrep"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  oci_image "$work/alpine" "$rootfs" "$SIDECAR_IMAGE" '["/bin/sh"]'
}

# --- configuration files ------------------------------------------------------------------------

write_configs() {
  mkdir -p "$STATE/containerd" "$STATE/cni/net.d" "$STATE/kubelet" "$STATE/mirror-registry"
  cat >"$STATE/containerd/config.toml" <<EOF
version = 2
root = "$STATE/containerd/root"
state = "$STATE/containerd/state"
oom_score = 0

[grpc]
  address = "$CONTAINERD_SOCK"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$STATE/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # runc cannot lower oom_score_adj without CAP_SYS_RESOURCE; every sandbox fails otherwise.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$STATE/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$STATE/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."127.0.0.1:5000"]
    endpoint = ["http://127.0.0.1:5000"]
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://$MIRROR_REGISTRY_ADDR"]
EOF
  cat >"$STATE/cni/net.d/10-isolation.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "isolation-kubernetes",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CNI_BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$STATE/cni/ipam"
      }
    }
  ]
}
EOF
  cat >"$STATE/mirror-registry/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/mirror-registry/data
http:
  addr: $MIRROR_REGISTRY_ADDR
EOF
  cat >"$STATE/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: $KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
failSwapOn: false
makeIPTablesUtilChains: false
hairpinMode: none
protectKernelDefaults: false
# Nothing can be pulled from outside again: never collect images.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
clusterDomain: cluster.local
resolvConf: /etc/resolv.conf
maxPods: 50
serializeImagePulls: false
EOF
}

# --- main ---------------------------------------------------------------------------------------

BIN=${ISOLATION_K8S_BIN:-$("$HERE/build.sh")}
export PATH=$BIN:$PATH

if all_running && apiserver_ready && node_ready 0 && default_service_account_ready; then
  log "the cluster recorded in $STATE is already up and healthy"
  echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
  exit 0
fi
if compgen -G "$PIDS/*" >/dev/null; then
  log "a partial or unhealthy cluster is recorded in $STATE; stopping it first"
  "$HERE/down.sh"
fi

install_packages
mkdir -p "$STATE" "$PIDS" "$LOGS"
make_pki
kubeconfig "$KUBECONFIG_ADMIN" admin
kubeconfig "$STATE/controller-manager.kubeconfig" controller-manager
kubeconfig "$STATE/scheduler.kubeconfig" scheduler
kubeconfig "$STATE/kubelet.kubeconfig" kubelet
write_configs
build_images

# Two folders are made outside the state folder: the kubelet's device-plugin socket folder (a
# constant in 1.20) and libcni's result cache. down.sh removes them if they were not there before.
for dir in /var/lib/kubelet /var/lib/cni; do
  [[ -e $dir ]] || echo "$dir" >>"$STATE/created-host-dirs"
done

start etcd etcd --name isolation --data-dir "$STATE/etcd" \
  --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "isolation=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new
start docker-io-mirror docker-registry serve "$STATE/mirror-registry/config.yml"
start containerd containerd --config "$STATE/containerd/config.toml"

etcd_ready() { curl -fsS --max-time 3 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"'; }
mirror_ready() { curl -fsS --max-time 3 "http://$MIRROR_REGISTRY_ADDR/v2/" >/dev/null 2>&1; }
containerd_ready() { ctr --address "$CONTAINERD_SOCK" version >/dev/null 2>&1; }
wait_for etcd etcd etcd_ready
wait_for "docker.io mirror registry" docker-io-mirror mirror_ready
wait_for containerd containerd containerd_ready

push_image "$STATE/images/pause" isolation/pause 3.4.1
push_image "$STATE/images/alpine" library/alpine 3.24.2
ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$STATE/images/pause.tar" >/dev/null
ctr --address "$CONTAINERD_SOCK" -n k8s.io images import "$STATE/images/alpine.tar" >/dev/null

start kube-apiserver kube-apiserver \
  --etcd-servers "http://127.0.0.1:$ETCD_CLIENT_PORT" \
  --bind-address 127.0.0.1 --secure-port "$APISERVER_PORT" --insecure-port 0 \
  --advertise-address "$NODE_IP" --endpoint-reconciler-type none \
  --service-cluster-ip-range "$SERVICE_CIDR" \
  --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types InternalIP \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --anonymous-auth=false --allow-privileged=true --profiling=false --event-ttl 1h
wait_for "kube-apiserver /readyz" kube-apiserver apiserver_ready

start kube-controller-manager kube-controller-manager \
  --kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --authorization-kubeconfig "$STATE/controller-manager.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$CONTROLLER_MANAGER_PORT" --port 0 \
  --use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" \
  --root-ca-file "$PKI/ca.crt" --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
  --flex-volume-plugin-dir "$STATE/controller-manager/volume-plugins" \
  --leader-elect=false --profiling=false
start kube-scheduler kube-scheduler \
  --kubeconfig "$STATE/scheduler.kubeconfig" \
  --authentication-kubeconfig "$STATE/scheduler.kubeconfig" \
  --authorization-kubeconfig "$STATE/scheduler.kubeconfig" \
  --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --port 0 \
  --leader-elect=false --profiling=false

kubelet_started=$(date +%s)
mkdir -p "$STATE/logs/pods" "$STATE/logs/containers"
KUBELET_LOG_DIR=$STATE/logs start kubelet kubelet \
  --config "$STATE/kubelet/config.yaml" --kubeconfig "$STATE/kubelet.kubeconfig" \
  --root-dir "$STATE/kubelet/root" --cert-dir "$STATE/kubelet/pki" \
  --volume-plugin-dir "$STATE/kubelet/volume-plugins" \
  --container-runtime remote --container-runtime-endpoint "unix://$CONTAINERD_SOCK" \
  --image-service-endpoint "unix://$CONTAINERD_SOCK" --pod-infra-container-image "$PAUSE_IMAGE" \
  --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --oom-score-adj 0 --v 1

healthz() { curl -fsSk --max-time 3 "https://127.0.0.1:$1/healthz" 2>/dev/null | grep -qx ok; }
wait_for "kube-controller-manager /healthz" kube-controller-manager healthz "$CONTROLLER_MANAGER_PORT"
wait_for "kube-scheduler /healthz" kube-scheduler healthz "$SCHEDULER_PORT"
wait_for "node $NODE_NAME Ready" "kubelet containerd" node_ready "$kubelet_started"
wait_for "service account default/default" kube-controller-manager default_service_account_ready

log "cluster up: $(kubectl_admin get node "$NODE_NAME" --no-headers)"
echo "export KUBECONFIG=$KUBECONFIG_ADMIN"
