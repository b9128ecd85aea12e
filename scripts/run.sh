#!/usr/bin/env bash
# One command to go from a fresh Debian machine to a running kmsd:
# installs what is missing, builds a hardened release build, and starts the
# server on its embedded defaults (127.0.0.1:8340, data in ./kmsd-data).
# Extra arguments are passed to kmsd, e.g. scripts/run.sh --listen 127.0.0.1:9000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target kmsd kmsctl
exec build-release/server/kmsd "$@"
