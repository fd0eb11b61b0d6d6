#!/usr/bin/env bash
# Brings up what the integration tests need on this machine, installing it when missing:
# a Docker engine, OpenSSL (the supply-chain tests' independent signer), Node.js and npm
# (the capture tests' real MCP servers), and two OCI registries on loopback (an open one on
# 127.0.0.1:5000 and one behind htpasswd basic auth on 127.0.0.1:5001, user `mcp`, password
# `audit`).
# Idempotent: what already runs is left alone. `scripts/test-env.sh stop` stops what it started.
set -euo pipefail

state=${MCP_AUDIT_TEST_STATE:-/tmp/mcp-audit-test-env}
mkdir -p "$state"

say() { printf 'test-env: %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  command -v dockerd >/dev/null || missing+=(docker.io)
  command -v docker-registry >/dev/null || missing+=(docker-registry)
  command -v htpasswd >/dev/null || missing+=(apache2-utils)
  command -v openssl >/dev/null || missing+=(openssl)
  # The capture tests package real npm MCP servers with this machine's node.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  say "starting dockerd"
  nohup dockerd --host=unix:///var/run/docker.sock >"$state/dockerd.log" 2>&1 &
  echo $! >"$state/dockerd.pid"
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return
    sleep 1
  done
  say "dockerd did not start; its log:"
  tail -n 30 "$state/dockerd.log" >&2
  exit 1
}

start_registry() {
  local name=$1 port=$2 auth=$3
  if curl -s -o /dev/null "http://127.0.0.1:$port/v2/"; then
    return
  fi
  say "starting registry $name on 127.0.0.1:$port"
  mkdir -p "$state/$name/data"
  local config="$state/$name/config.yml"
  cat >"$config" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/$name/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  if [ "$auth" = auth ]; then
    htpasswd -Bbn mcp audit >"$state/$name/htpasswd"
    cat >>"$config" <<YAML
auth:
  htpasswd:
    realm: mcp-audit-test
    path: $state/$name/htpasswd
YAML
  fi
  nohup docker-registry serve "$config" >"$state/$name/registry.log" 2>&1 &
  echo $! >"$state/$name/registry.pid"
  for _ in $(seq 1 30); do
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    case "$code" in 200|401) return ;; esac
    sleep 0.5
  done
  say "registry $name did not start; its log:"
  tail -n 30 "$state/$name/registry.log" >&2
  exit 1
}

stop_all() {
  for pidfile in "$state"/*/registry.pid "$state"/dockerd.pid; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "${1:-start}" in
  start)
    install_packages
    start_dockerd
    start_registry open 5000 open
    start_registry auth 5001 auth
    ;;
  stop) stop_all ;;
  *) echo "usage: $0 [start|stop]" >&2; exit 2 ;;
esac
