#!/usr/bin/env bash
# Instructions per request, the steady figure on a shared machine: runs a
# fixed number of requests of each workload against a kmsd (and against the
# bare-HTTP floor, `kmsbench --serve-floor`) running under
# `valgrind --tool=callgrind`, and reports instructions per request.
#
# Start-up, the client's setup requests (CreateKey, the 16 Encrypts behind
# Decrypt) and the 16 connections are excluded by difference: each workload
# runs twice, N then 2N requests, each run followed by a callgrind dump (which
# also zeroes the counters), and (I(2N) - I(N)) / N is what N extra requests
# cost. The floor is measured the same way with the same signed requests.
#
# Usage: tools/perf_instructions.sh [BUILD_DIR] [N] [WORKLOADS]
#   BUILD_DIR  a Release build (default build-release; configured and built here)
#   N          requests per step (default 2000)
#   WORKLOADS  default "encrypt32 decrypt generate-data-key"
# Environment: IDLE=N holds N idle keep-alive connections open during every run (kmsbench --idle; their
# own set-up requests are the same in the N and 2N runs, so they cancel out);
# KEEP=DIR keeps the callgrind dumps (callgrind_annotate DIR/kmsd.<workload>.2 shows
# where the 2N run's instructions went); KMSD=PATH measures another kmsd binary (same build's kmsbench).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-release}
N=${2:-2000}
WORKLOADS=${3:-"encrypt32 decrypt generate-data-key"}
command -v valgrind >/dev/null || { echo "perf_instructions: valgrind is not installed" >&2; exit 2; }
if [[ ! -x "$B/server/kmsd" || ! -x "$B/tools/kmsbench" || -z "${KMSD:-}" ]]; then
  # Configured only when new: an existing build dir keeps its settings (and its test targets).
  [[ -f "$B/CMakeCache.txt" ]] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$B" -j"$(nproc)" --target kmsd kmsbench >/dev/null
fi
KMSD=${KMSD:-$B/server/kmsd}
W=$(mktemp -d /tmp/kmsd-instr-XXXXXX)
OUT=${KEEP:-$W/out}
mkdir -p "$OUT"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT

# callgrind's running total: each dump resets it, so a dump holds one step.
CG=(valgrind --tool=callgrind --dump-instr=no --compress-strings=no --vgdb=yes)
dump() { # PID NAME: dumps the counters since the last dump to $OUT/NAME, prints its instruction total
  local pid=$1 name=$2 f
  callgrind_control -d "$name" "$pid" >/dev/null 2>&1
  for _ in $(seq 600); do
    f=$(ls -t "$OUT"/callgrind.out."$pid".* 2>/dev/null | head -1 || true)
    [[ -n "$f" ]] && grep -q "^totals:" "$f" 2>/dev/null && break
    sleep 0.1
  done
  mv "$f" "$OUT/$name"
  awk '/^totals:/ {print $2}' "$OUT/$name"
}
wait_port() { # FILE: waits for a port number in FILE
  for _ in $(seq 1200); do [[ -s "$1" ]] && return 0; sleep 0.1; done
  echo "perf_instructions: server did not start" >&2; exit 1
}

# kmsd under callgrind on a fresh data directory. Under callgrind a run takes tens of seconds, longer
# than the 30 s idle timeout, which would close IDLE connections mid-run: the timeout is raised (it
# changes nothing per request).
"${CG[@]}" --callgrind-out-file="$OUT/callgrind.out.%p" "$KMSD" --listen 127.0.0.1:0 --port-file "$W/port" \
    --data-dir "$W/data" --access-log off --connection-timeout 3600 > "$W/kmsd.log" 2>&1 & KPID=$!
PIDS+=("$KPID")
wait_port "$W/port"
P=$(cat "$W/port")
for _ in $(seq 600); do [[ -s "$W/data/admin-credentials" ]] && break; sleep 0.1; done
# The floor under callgrind, serving the same signed requests.
"${CG[@]}" --callgrind-out-file="$OUT/callgrind.out.%p" "$B/tools/kmsbench" --serve-floor 0 > "$W/floor.out" 2>&1 &
FPID=$!
PIDS+=("$FPID")
for _ in $(seq 1200); do grep -q "serving on" "$W/floor.out" && break; sleep 0.1; done
FP=$(grep -o '127.0.0.1:[0-9]*' "$W/floor.out" | cut -d: -f2)

bench() { # PORT N WORKLOAD [extra]
  local port=$1 n=$2 w=$3; shift 3
  "$B/tools/kmsbench" --endpoint "http://127.0.0.1:$port" --credentials-file "$W/data/admin-credentials" \
      -c 16 -t 2 -n "$n" --timeout 120s ${IDLE:+--idle "$IDLE"} -w "$w" "$@" > "$W/bench.out" 2>&1 \
    || { cat "$W/bench.out" >&2; exit 1; }
  if grep -q "^ *error \|idle connections were closed" "$W/bench.out"; then
    echo "perf_instructions: $w had failed requests:" >&2; cat "$W/bench.out" >&2; exit 1
  fi
}
# One key for every run, so no run pays for CreateKey.
bench "$P" 16 encrypt32
KEY=$(python3 - "$P" "$W/data/admin-credentials" <<'PY'
import sys, configparser, boto3
cp = configparser.ConfigParser(); cp.read(sys.argv[2])
kms = boto3.client("kms", endpoint_url="http://127.0.0.1:%s" % sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=cp["kmsd"]["aws_access_key_id"], aws_secret_access_key=cp["kmsd"]["aws_secret_access_key"])
print(kms.create_key()["KeyMetadata"]["KeyId"])
PY
)
dump "$KPID" kmsd.startup >/dev/null
dump "$FPID" floor.startup >/dev/null

# The instructions libmicrohttpd's calls to memset account for in a dump. MHD zeroes each connection's
# memory pool for every request (kmsd and the floor alike), and glibc's memset does it with `rep stosb`,
# which callgrind counts once per byte: ~49,000 of the floor's ~62,000 "instructions" are that one
# instruction. The second ratio leaves it out of both sides (docs/performance.md, "What the count counts").
mhd_memset() { # FILE
  python3 - "$1" <<'PY'
import sys
ob = cob = None; fn_ob = None; pending = False; total = 0
for line in open(sys.argv[1]):
    if line.startswith("ob="): ob = line[3:].strip(); continue
    if line.startswith("fn="): fn_ob = ob; cob = None; continue
    if line.startswith("cob="): cob = line[4:].strip(); continue
    if line.startswith("cfn="): target = line[4:].strip(); continue
    if line.startswith("calls="): pending = True; continue
    if pending and line[:1] and (line[0].isdigit() or line[0] in "+-*"):
        if "libmicrohttpd" in (fn_ob or "") and target.startswith("__memset"): total += int(line.split()[1])
        pending = False; cob = None
print(total)
PY
}
echo "## instructions per request (callgrind, $N requests: (I(2N) - I(N)) / N)${IDLE:+, $IDLE idle connections open}, $(date -u +%FT%TZ)"
printf '%-20s %14s %14s %8s   %s\n' workload kmsd floor ratio "without MHD's pool memset: kmsd floor ratio"
for w in $WORKLOADS; do
  bench "$P" "$N" "$w" --key-id "$KEY";       a=$(dump "$KPID" "kmsd.$w.1")
  bench "$P" $((2 * N)) "$w" --key-id "$KEY"; b=$(dump "$KPID" "kmsd.$w.2")
  bench "$FP" "$N" "$w" --key-id "$KEY";      fa=$(dump "$FPID" "floor.$w.1")
  bench "$FP" $((2 * N)) "$w" --key-id "$KEY"; fb=$(dump "$FPID" "floor.$w.2")
  ma=$(mhd_memset "$OUT/kmsd.$w.1"); mb=$(mhd_memset "$OUT/kmsd.$w.2")
  fma=$(mhd_memset "$OUT/floor.$w.1"); fmb=$(mhd_memset "$OUT/floor.$w.2")
  python3 -c "
k = ($b - $a) / $N; f = ($fb - $fa) / $N
km = k - ($mb - $ma) / $N; fm = f - ($fmb - $fma) / $N
print('%-20s %14.0f %14.0f %8.2f   %14.0f %8.0f %6.2f' % ('$w', k, f, k / f, km, fm, km / fm))"
done
