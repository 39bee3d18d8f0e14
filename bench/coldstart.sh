#!/usr/bin/env bash
# Cold start and scale-out reaction on the process back end with the hello example.
#
# 1. Time to first byte of a request to a service at zero (min 0): curl's
#    time_starttransfer of one request, median of N. With the router holding requests
#    for a cold service (the router half of issue 13) that request itself is answered;
#    before it, the router answers 503 while it signals demand, and the script then
#    times from that request to the first 200 instead (reported as "wake").
# 2. Step-load scale-out: milliseconds from starting 40 concurrent slow requests to a
#    second ready instance (concurrency 4, target 100 %, panic window 1 s).
#
# Usage: bench/coldstart.sh [rounds]          (default 10; medians reported)
#        FERRY_BIN=/path/to/ferry bench/coldstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-10}
target=${CARGO_TARGET_DIR:-target}
if [ -n "${FERRY_BIN:-}" ]; then
  ferry=$FERRY_BIN
else
  cargo build --release -q -p ferry-cli
  ferry="$target/release/ferry"
fi

work=$(mktemp -d)
server_pid=""
load_pids=()
cleanup() {
  for pid in "${load_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
export FERRY_DATA_DIR="$work/data"

"$ferry" server --api 127.0.0.1:0 --router 127.0.0.1:0 --runtime process >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [ -f "$FERRY_DATA_DIR/server.json" ] && break; sleep 0.05; done
router=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["router"])' "$FERRY_DATA_DIR/server.json")
host=hello.localhost

now_ms() { date +%s%3N; }
median() { python3 -c 'import statistics,sys; print(int(statistics.median(int(x) for x in sys.argv[1:])))' "$@"; }
instances() { # ready instances
  "$ferry" status hello --json | python3 -c 'import json,sys; print(sum(1 for i in json.load(sys.stdin)["runtime"]["instances"] if i["state"]=="ready"))'
}
all_instances() {
  "$ferry" status hello --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runtime"]["instances"]))'
}
wait_for() { # wait_for CMD VALUE
  local deadline=$(( $(now_ms) + 120000 ))
  until [ "$($1)" = "$2" ]; do
    (( $(now_ms) < deadline )) || { echo "timeout waiting for $1 = $2" >&2; tail -20 "$work/server.log" >&2; exit 1; }
    sleep 0.1
  done
}

"$ferry" deploy examples/apps/hello >/dev/null 2>&1
"$ferry" scale hello --min 0 --scale-to-zero-grace 1 --stable-window 1 --panic-window 1 >/dev/null

ttfb=()
for _ in $(seq 1 "$rounds"); do
  wait_for all_instances 0
  sleep 0.5
  start=$(now_ms)
  out=$(curl -s -o /dev/null -w '%{http_code} %{time_starttransfer}' --max-time 30 -H "Host: $host" "http://$router/")
  code=${out% *}
  if [ "$code" = 200 ]; then
    ttfb+=("$(python3 -c "print(int(float('${out#* }')*1000))")")
  else
    # The router does not hold yet: time from the request to the first 200.
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Host: $host" "http://$router/")" = 200 ]; do sleep 0.005; done
    ttfb+=("wake:$(( $(now_ms) - start ))")
  fi
done
echo "cold start (ms, per round): ${ttfb[*]}"
plain=()
for t in "${ttfb[@]}"; do plain+=("${t#wake:}"); done
echo "cold start median: $(median "${plain[@]}") ms"

"$ferry" scale hello --min 1 --concurrency 4 --target-utilization 100 --max 10 --stable-window 2 --panic-window 1 >/dev/null
wait_for instances 1
start=$(now_ms)
for _ in $(seq 1 40); do
  ( while :; do curl -s -o /dev/null --max-time 10 -H "Host: $host" "http://$router/slow/1" || true; done ) &
  load_pids+=($!)
done
until [ "$(instances)" -ge 2 ]; do sleep 0.05; done
echo "step load: a second ready instance after $(( $(now_ms) - start )) ms"
[ -n "${KEEP_LOG:-}" ] && cp "$work/server.log" "$KEEP_LOG"
