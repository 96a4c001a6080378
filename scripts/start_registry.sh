#!/usr/bin/env bash
# Starts Debian's docker-registry on 127.0.0.1:5000 with no auth, storing under $1 (default
# /tmp/isolation-registry). Docker treats 127.0.0.0/8 registries as insecure, so plain HTTP works.
set -euo pipefail
root="${1:-/tmp/isolation-registry}"
addr="${ISOLATION_REGISTRY_ADDR:-127.0.0.1:5000}"
if curl -fsS "http://$addr/v2/" >/dev/null 2>&1; then
  echo "a registry already answers on $addr"
  exit 0
fi
mkdir -p "$root"
cat > "$root/config.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $root/data
  delete:
    enabled: true
http:
  addr: $addr
YAML
nohup docker-registry serve "$root/config.yml" >"$root/registry.log" 2>&1 &
for _ in $(seq 50); do
  curl -fsS "http://$addr/v2/" >/dev/null 2>&1 && { echo "registry on $addr"; exit 0; }
  sleep 0.2
done
echo "docker-registry did not start; its log:" >&2
cat "$root/registry.log" >&2
exit 1
