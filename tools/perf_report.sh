#!/usr/bin/env bash
# Runs every kmsbench measurement behind docs/performance.md in one go, on a
# Release build, against a fresh kmsd on a free loopback port:
#   1. every workload against the bare-HTTP floor and kmsd, then an open-loop
#      run at half of kmsd's saturation (p99 at half load);
#   2. Encrypt with temporary vs long-term credentials;
#   3. Encrypt under a key policy with several statements and conditions vs
#      the default key policy (authorization cost);
#   4. Encrypt and ListKeys pages with 100,000 keys in the keystore;
#   5. cold start to first served request and idle RSS with an existing keystore;
#   6. server CPU time per request (from /proc, 100,000 requests each): the
#      steadiest figure on a shared machine, for kmsd and for the floor, with
#      its user and kernel parts (the loopback TCP work is the kernel's);
#   7. 16 active connections with and without 1,000 idle keep-alive ones open;
#   8. asymmetric and HMAC workloads next to `openssl speed` (the bare primitive,
#      single-threaded) in the same run, and GenerateDataKeyPair RSA_2048 latency
#      with the key-pair pool warm.
# Instructions per request (callgrind) come from tools/perf_instructions.sh.
# Usage: tools/perf_report.sh [BUILD_DIR] [SECONDS_PER_RUN] [SECTIONS]   (sections e.g. "1 2 6"; default all)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-release}
D=${2:-5}
SECTIONS=${3:-"1 2 3 4 5 6 7 8"}
want() { [[ " $SECTIONS " == *" $1 "* ]]; }
cpu_per_request() { # PID N cmd... : prints server CPU microseconds per request, then its user and kernel parts
  local pid=$1 n=$2; shift 2
  local u0 s0 u1 s1; read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  "$@" > /dev/null 2>&1
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  python3 -c "
t = $(getconf CLK_TCK) / 1e6 * $n
print('%.1f us (user %.1f, kernel %.1f)' % (($u1 - $u0 + $s1 - $s0) / t, ($u1 - $u0) / t, ($s1 - $s0) / t))"
}
# Configured only when new: an existing build dir keeps its settings (and its test targets).
[[ -f "$B/CMakeCache.txt" ]] || cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$B" -j"$(nproc)" --target kmsd kmsbench >/dev/null
W=$(mktemp -d /tmp/kmsd-perf-XXXXXX)
trap 'kill $(cat "$W/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$W"' EXIT

start() { # start kmsd on $W/data; sets P
  rm -f "$W/port"
  "$B/server/kmsd" --listen 127.0.0.1:0 --port-file "$W/port" --data-dir "$W/data" --access-log off \
      > "$W/kmsd.log" 2>&1 & echo $! > "$W/pid"
  for _ in $(seq 200); do [[ -s "$W/port" ]] && break; sleep 0.05; done
  P=$(cat "$W/port")
}
stop() { kill "$(cat "$W/pid")"; wait "$(cat "$W/pid")" 2>/dev/null || true; }
bench() { "$B/tools/kmsbench" --endpoint "http://127.0.0.1:$P" --credentials-file "$W/data/admin-credentials" \
          -c 16 -t 2 -d "${D}s" --warmup 1s "$@"; }

echo "## machine: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
start
if want 1; then
echo "## 1. every workload: floor and kmsd in the same run, then kmsd at 50% of its saturation"
bench --floor --cpu --rate 50% -w encrypt32 -w encrypt4k -w decrypt -w generate-data-key -w reencrypt \
      -w generate-random -w get-caller-identity -w assume-role -w create-key \
      -w mix:encrypt32=4,decrypt=4,generate-data-key=2
fi
if want 2; then
echo "## 2. temporary vs long-term credentials"
bench -w encrypt32 -w encrypt32@temp -w encrypt32 -w encrypt32@temp

fi
if want 3; then
echo "## 3. authorization: key policy with conditions vs default key policy"
KEY=$(python3 - "$P" "$W/data/admin-credentials" <<'PY'
import sys, json, configparser, boto3
cp = configparser.ConfigParser(); cp.read(sys.argv[2])
kms = boto3.client("kms", endpoint_url="http://127.0.0.1:%s" % sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=cp["kmsd"]["aws_access_key_id"], aws_secret_access_key=cp["kmsd"]["aws_secret_access_key"])
acct = "000000000000"
policy = {"Version": "2012-10-17", "Statement": [
  {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:root" % acct},
   "Action": "kms:*", "Resource": "*"},
  {"Sid": "Use from loopback over any transport", "Effect": "Allow", "Principal": {"AWS": "*"},
   "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
   "Condition": {"StringEquals": {"kms:CallerAccount": acct}, "IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]},
                 "Bool": {"aws:SecureTransport": ["true", "false"]}}},
  {"Sid": "No other accounts", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*",
   "Condition": {"StringNotEquals": {"kms:CallerAccount": acct}}},
  {"Sid": "Context tagged", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
   "Condition": {"StringEquals": {"kms:EncryptionContext:classification": "secret"}}},
  {"Sid": "Admins", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::%s:user/admin" % acct},
   "Action": ["kms:Describe*", "kms:Get*", "kms:List*"], "Resource": "*"}]}
print(kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["KeyId"])
PY
)
for round in 1 2; do
  echo "# round $round: default key policy, then the conditional policy (key $KEY)"
  bench -w encrypt32 | tail -1
  bench -w encrypt32 --key-id "$KEY" | tail -1
done
fi
if want 6; then
echo "## 6. server CPU per request (100,000 requests each, 16 connections)"
for w in encrypt32 encrypt32@temp decrypt generate-data-key generate-random get-caller-identity; do
  echo "kmsd   $w: $(cpu_per_request "$(cat "$W/pid")" 100000 "$B/tools/kmsbench" --endpoint "http://127.0.0.1:$P" \
      --credentials-file "$W/data/admin-credentials" -c 16 -t 2 -n 100000 -w "$w")"
done
"$B/tools/kmsbench" --serve-floor 0 > "$W/floor.out" 2>&1 & FPID=$!
for _ in $(seq 100); do grep -q "serving on" "$W/floor.out" && break; sleep 0.05; done
FP=$(grep -o '127.0.0.1:[0-9]*' "$W/floor.out" | cut -d: -f2)
echo "floor  encrypt32 (same requests, separate process): $(cpu_per_request $FPID 100000 "$B/tools/kmsbench" \
    --endpoint "http://127.0.0.1:$FP" --credentials-file "$W/data/admin-credentials" -c 16 -t 2 -n 100000 -w encrypt32)"
kill -INT $FPID; wait $FPID 2>/dev/null || true
fi
if want 7; then
echo "## 7. 16 active connections, without and with 1,000 idle keep-alive connections (alternating)"
for round in 1 2; do
  bench --cpu -w encrypt32 | tail -1
  bench --cpu --idle 1000 -w encrypt32 | tail -1
done
fi
if want 8; then
echo "## 8. asymmetric and HMAC workloads, and the raw primitive from openssl speed (one thread)"
openssl speed -seconds 3 ecdsap256 ed25519 rsa2048 2>/dev/null | grep -E "^ *(256 bits ecdsa|253 bits EdDSA|rsa 2048 bits)"
bench --cpu -w sign-p256 -w verify-p256 -w sign-ed25519 -w verify-ed25519 -w sign-rsa2048 -w verify-rsa2048 \
      -w generate-mac -w generate-data-key-pair-p256 -w encrypt32
echo "# GenerateDataKeyPair RSA_2048, pool warm: one request every 3 s (open loop only), so the pool refills in between"
sleep 5
"$B/tools/kmsbench" --endpoint "http://127.0.0.1:$P" --credentials-file "$W/data/admin-credentials" \
    -c 1 -t 1 --rate 0.33 --open-only --warmup 10s -d 60s -w generate-data-key-pair-rsa2048 | tail -2
fi
stop

if want 4 || want 5; then
echo "## 4. 100,000 keys in the keystore"
start
bench -w encrypt32
"$B/tools/kmsbench" --endpoint "http://127.0.0.1:$P" --credentials-file "$W/data/admin-credentials" \
    -c 16 -t 2 -n 100000 -w create-key | tail -1
python3 - "$P" "$W/data/admin-credentials" <<'PY'
import sys, time, configparser, boto3
cp = configparser.ConfigParser(); cp.read(sys.argv[2])
kms = boto3.client("kms", endpoint_url="http://127.0.0.1:%s" % sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=cp["kmsd"]["aws_access_key_id"], aws_secret_access_key=cp["kmsd"]["aws_secret_access_key"])
n, marker, pages = 0, None, 0
t0 = time.perf_counter()
while True:
    r = kms.list_keys(Limit=1000, **({"Marker": marker} if marker else {}))
    n += len(r["Keys"]); pages += 1
    if not r.get("Truncated"): break
    marker = r["NextMarker"]
print("keys in keystore: %d (walked %d pages of 1000 in %.2f s)" % (n, pages, time.perf_counter() - t0))
for limit in (10, 100, 1000):
    # time one page at the start and one deep in the keystore
    first = kms.list_keys(Limit=limit)
    t0 = time.perf_counter(); [kms.list_keys(Limit=limit) for _ in range(20)]; a = (time.perf_counter() - t0) / 20
    deep = kms.list_keys(Limit=1000)
    for _ in range(80): deep = kms.list_keys(Limit=1000, Marker=deep["NextMarker"])
    t0 = time.perf_counter(); [kms.list_keys(Limit=limit, Marker=deep["NextMarker"]) for _ in range(20)]; b = (time.perf_counter() - t0) / 20
    print("ListKeys Limit=%-4d first page %.2f ms, page after 81,000 keys %.2f ms" % (limit, a * 1000, b * 1000))
PY
bench -w encrypt32
stop

echo "## 5. cold start with an existing keystore (the 100,000-key one) and idle RSS"
"$B/tools/kmsbench" --cold-start "$B/server/kmsd" --data-dir "$W/data" --credentials-file "$W/data/admin-credentials" --trials 5
fi
