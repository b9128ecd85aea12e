#!/usr/bin/env bash
# A local kmsd cluster (docs/scale-out.md): three etcd members and three kmsd
# nodes on free loopback ports, all state under one directory.
#   scripts/cluster.sh up [DIR]      start (DIR default ./kmsd-cluster); prints the endpoints
#   scripts/cluster.sh status [DIR]  which processes are alive, etcd health
#   scripts/cluster.sh down [DIR]    stop everything started by `up` (by the pids it recorded)
# Clients use the client-side list in DIR/endpoints (one URL a line) and move to the next
# node on a connection error; DIR/n0/admin-credentials holds the administrator's keys.
# KMSD_BIN overrides the kmsd binary (default: a release build, made if missing).
set -euo pipefail
cmd="${1:-}"
dir="$(realpath -m "${2:-kmsd-cluster}")"
root="$(cd "$(dirname "$0")/.." && pwd)"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

up() {
  if [[ -d "$dir" ]] && ls "$dir"/*.pid >/dev/null 2>&1; then
    for p in "$dir"/*.pid; do alive "$p" && { echo "already running ($p); scripts/cluster.sh down $dir first"; exit 1; }; done
  fi
  [[ -e "$dir/etcd0" ]] && { echo "$dir holds a cluster's state; remove it (rm -rf $dir) to start a new one"; exit 1; }
  command -v etcd >/dev/null || { echo "etcd not found: scripts/deps.sh --test installs it"; exit 1; }
  local kmsd="${KMSD_BIN:-}"
  if [[ -z "$kmsd" ]]; then
    kmsd="$root/build-release/server/kmsd"
    if [[ ! -x "$kmsd" ]]; then
      "$root/scripts/deps.sh"
      cmake -S "$root" -B "$root/build-release" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
      cmake --build "$root/build-release" -j"$(nproc)" --target kmsd kmsctl
    fi
  fi
  mkdir -p "$dir"
  local cports=() pports=() initial="" endpoints=""
  for i in 0 1 2; do cports+=("$(free_port)"); pports+=("$(free_port)"); done
  for i in 0 1 2; do initial+="${initial:+,}e$i=http://127.0.0.1:${pports[$i]}"; endpoints+="${endpoints:+,}127.0.0.1:${cports[$i]}"; done
  for i in 0 1 2; do
    local c="http://127.0.0.1:${cports[$i]}" p="http://127.0.0.1:${pports[$i]}"
    etcd --name "e$i" --data-dir "$dir/etcd$i" --listen-client-urls "$c" --advertise-client-urls "$c" \
      --listen-peer-urls "$p" --initial-advertise-peer-urls "$p" --initial-cluster "$initial" \
      --initial-cluster-state new --initial-cluster-token "kmsd-$$" --max-txn-ops 10000 \
      >"$dir/etcd$i.log" 2>&1 &
    echo $! >"$dir/etcd$i.pid"
  done
  echo "etcd://$endpoints" >"$dir/store"
  for _ in $(seq 100); do
    curl -sf -X POST -d '{"key":"AA=="}' "http://127.0.0.1:${cports[0]}/v3/kv/range" >/dev/null && break
    sleep 0.2
  done
  : >"$dir/endpoints"
  for i in 0 1 2; do
    mkdir -p "$dir/n$i"
    local extra=()
    if [[ $i != 0 ]]; then
      extra=(--key-file "$dir/n0/master.key")
      cp "$dir/n0/admin-credentials" "$dir/n$i/"
    fi
    "$kmsd" --listen 127.0.0.1:0 --port-file "$dir/n$i/port" --data-dir "$dir/n$i" --store "etcd://$endpoints" \
      "${extra[@]}" >"$dir/n$i/kmsd.log" 2>&1 &
    echo $! >"$dir/kmsd$i.pid"
    for _ in $(seq 100); do [[ -s "$dir/n$i/port" ]] && break; sleep 0.1; done
    [[ -s "$dir/n$i/port" ]] || { echo "kmsd node $i did not start; see $dir/n$i/kmsd.log"; exit 1; }
    echo "http://127.0.0.1:$(cat "$dir/n$i/port")" >>"$dir/endpoints"
  done
  echo "etcd members: $endpoints"
  echo "kmsd nodes (client-side list in $dir/endpoints):"
  sed 's/^/  /' "$dir/endpoints"
  echo "administrator credentials: $dir/n0/admin-credentials"
  echo "kmsctl on the cluster's keystore, e.g.: kmsctl access-key list --data-dir $dir/n0 --store etcd://$endpoints"
}

status() {
  local rc=0
  for p in "$dir"/etcd?.pid "$dir"/kmsd?.pid; do
    [[ -f "$p" ]] || continue
    if alive "$p"; then echo "$(basename "$p" .pid): running (pid $(cat "$p"))"; else echo "$(basename "$p" .pid): down"; rc=1; fi
  done
  [[ -f "$dir/endpoints" ]] && { echo "kmsd nodes:"; sed 's/^/  /' "$dir/endpoints"; }
  [[ -f "$dir/store" ]] && echo "store: $(cat "$dir/store")"
  return $rc
}

down() {
  for p in "$dir"/kmsd?.pid "$dir"/etcd?.pid; do
    [[ -f "$p" ]] || continue
    if alive "$p"; then kill "$(cat "$p")"; fi
    rm -f "$p"
  done
  echo "stopped; state kept in $dir (rm -rf it to start afresh)"
}

case "$cmd" in
  up) up ;;
  status) status ;;
  down) down ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
