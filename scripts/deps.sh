#!/usr/bin/env bash
# Installs what building, running and testing kmsd need, from Debian's
# packages only; does nothing for what is already there.
#   scripts/deps.sh          build and run dependencies
#   scripts/deps.sh --test   plus what the test suite uses (python3 boto3, aws CLI, clang, node, etcd)
set -euo pipefail

want=(build-essential cmake pkg-config libssl-dev libsodium-dev libmicrohttpd-dev libjansson-dev liblmdb-dev libyaml-dev
      libxml2-dev libxmlsec1-dev libcurl4-openssl-dev)
if [[ "${1:-}" == "--test" ]]; then
  # etcd: the scale-out tests start their own etcd members (docs/scale-out.md)
  want+=(python3 valgrind clang xmlsec1 etcd-server etcd-client)
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

# The end-to-end tests drive kmsd with boto3 and the aws CLI; use the ones
# on PATH if present, else Debian's.
if [[ "${1:-}" == "--test" ]]; then
  python3 -c 'import boto3' 2>/dev/null || missing+=(python3-boto3)
  command -v aws >/dev/null 2>&1 || missing+=(awscli)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
fi

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The AWS Encryption SDK / JS SDK end-to-end tests and the JWT (jose) and Ethereum (ethers) checks:
# packages pinned by
# tests/e2e/node/package-lock.json, from the npm registry.
if [[ "${1:-}" == "--test" ]]; then
  node_dir="$(dirname "$0")/../tests/e2e/node"
  # Re-install when a pinned package is missing, or the lock file changed
  # since node_modules was made (a cached node_modules may predate it).
  if [[ ! -d "$node_dir/node_modules/@aws-crypto/client-node" || ! -d "$node_dir/node_modules/jose" ||
        ! -d "$node_dir/node_modules/ethers" || "$node_dir/package-lock.json" -nt "$node_dir/node_modules" ]]; then
    (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
