#!/usr/bin/env bash
# Stops the cluster up.sh started and removes what its pods left behind, touching only what it
# owns: processes by their recorded PID (never by name), containerd shims whose `-address` is the
# private socket, mounts under the state folder, and the CNI bridge it named. The certificates
# stay, so the next up.sh starts quickly; everything else of the run is removed. Idempotent.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"

[[ -d $STATE ]] || { log "nothing to stop: $STATE does not exist"; exit 0; }

# stop PID...: SIGTERM, then SIGKILL whatever is still there after 20 s.
stop() {
  local pid deadline=$((SECONDS + 20))
  (($# == 0)) && return 0
  kill -TERM "$@" 2>/dev/null || true
  for pid in "$@"; do
    while [[ -d /proc/$pid ]] && ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null; do
      if ((SECONDS >= deadline)); then kill -KILL "$pid" 2>/dev/null || true; break; fi
      sleep 0.2
    done
  done
}

runc_root=$STATE/containerd/runc/k8s.io
ctr_cmd=(ctr --address "$CONTAINERD_SOCK" -n k8s.io)

for name in "${COMPONENTS[@]}"; do
  if [[ $name == containerd ]] && pid_of containerd >/dev/null; then
    # Pods' processes belong to the shims; end them while containerd can still account for them.
    for task in $("${ctr_cmd[@]}" tasks ls -q 2>/dev/null || true); do
      "${ctr_cmd[@]}" tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
    done
    for task in $("${ctr_cmd[@]}" tasks ls -q 2>/dev/null || true); do
      "${ctr_cmd[@]}" tasks delete -f "$task" >/dev/null 2>&1 || true
    done
  fi
  if pid=$(pid_of "$name"); then
    log "stopping $name (PID $pid)"
    stop "$pid"
  fi
  rm -f "$PIDS/$name"
done

# Containers whose shim outlived containerd.
if [[ -d $runc_root ]]; then
  for id in $(runc --root "$runc_root" list -q 2>/dev/null || true); do
    runc --root "$runc_root" kill "$id" KILL >/dev/null 2>&1 || true
    runc --root "$runc_root" delete -f "$id" >/dev/null 2>&1 || true
  done
fi
shims=$(our_shims)
if [[ -n $shims ]]; then
  log "stopping containerd shims of $CONTAINERD_SOCK: $(echo $shims)"
  # shellcheck disable=SC2086
  stop $shims
fi

# Pod volumes, container root filesystems and network namespaces are mounts under the state folder;
# unmounting the namespaces frees their veth pairs.
mounts=$(awk -v s="$STATE/" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r)
for m in $mounts; do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "could not unmount $m"
done

if ip link show "$CNI_BRIDGE" >/dev/null 2>&1; then
  for veth in $(ip -o link show master "$CNI_BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
    ip link del "$veth" 2>/dev/null || true
  done
  log "removing CNI bridge $CNI_BRIDGE"
  ip link del "$CNI_BRIDGE" 2>/dev/null || true
fi

# libcni caches each attachment under /var/lib/cni/results as <network>-<sandbox id>-<interface>.
for sandbox in "$STATE"/containerd/root/io.containerd.grpc.v1.cri/sandboxes/*/; do
  [[ -d $sandbox ]] && rm -f /var/lib/cni/results/*-"$(basename "$sandbox")"-*
done
rm -f /var/lib/cni/results/isolation-kubernetes-*

# The kubelet's (now empty) pod cgroups.
for hierarchy in /sys/fs/cgroup/*/; do
  [[ -d ${hierarchy}kubepods ]] && find "${hierarchy}kubepods" -depth -type d -exec rmdir {} + 2>/dev/null || true
done

if [[ -f $STATE/created-host-dirs ]]; then
  rm -f /var/lib/kubelet/device-plugins/kubelet.sock /var/lib/kubelet/device-plugins/DEPRECATION
  for dir in $(sort -u "$STATE/created-host-dirs"); do
    find "$dir" -depth -type d -empty -delete 2>/dev/null || true
    if [[ -e $dir ]]; then log "kept $dir: not empty"; fi
  done
  rm -f "$STATE/created-host-dirs"
fi

rm -rf "$STATE/etcd" "$STATE/kubelet" "$STATE/controller-manager" "$STATE/containerd" "$STATE/cni" "$STATE/images" \
  "$STATE/mirror-registry" "$STATE/logs/pods" "$STATE/logs/containers" "$PIDS"
log "cluster stopped; certificates kept in $STATE/pki"
