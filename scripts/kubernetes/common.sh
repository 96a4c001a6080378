# Shared by up.sh and down.sh: where the cluster keeps its state, and how its processes are found.
# shellcheck shell=bash

STATE=${ISOLATION_K8S_STATE:-/var/lib/isolation-kubernetes}
PIDS=$STATE/pids
LOGS=$STATE/logs
PKI=$STATE/pki
KUBECONFIG_ADMIN=$STATE/admin.kubeconfig
CONTAINERD_SOCK=$STATE/containerd/containerd.sock
CNI_BRIDGE=isok8s0

ETCD_CLIENT_PORT=12379
ETCD_PEER_PORT=12380
APISERVER_PORT=16443
CONTROLLER_MANAGER_PORT=10357
SCHEDULER_PORT=10359
KUBELET_PORT=10350
KUBELET_HEALTHZ_PORT=10348
MIRROR_REGISTRY_ADDR=127.0.0.1:5001

# Stop order: the node first, the store last.
COMPONENTS=(kubelet kube-scheduler kube-controller-manager kube-apiserver containerd docker-io-mirror etcd)

log() { echo "[k8s $(date +%T)] $*" >&2; }

# pid_of NAME: the recorded PID if that process is still the one we started (same executable).
pid_of() {
  local file=$PIDS/$1 pid exe
  [[ -f $file ]] || return 1
  read -r pid exe <"$file" || return 1
  [[ -n $pid && -d /proc/$pid ]] || return 1
  [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == "$exe" ]] || return 1
  echo "$pid"
}

# Shims of our containerd: only those started with `-address <our socket>`.
our_shims() {
  local pid
  for pid in $(pgrep -f 'containerd-shim' 2>/dev/null || true); do
    tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF "$CONTAINERD_SOCK" && echo "$pid"
  done
  return 0
}
