#!/usr/bin/env bash
# Time from `ferry deploy` to the new revision serving 100% of traffic, with the process
# runtime (examples/apps/hello) and the docker runtime (a busybox image imported
# locally), median of 5 deploys each. The switch is atomic, so the first response
# from the new revision means all traffic is on it; the script checks that no older
# marker is served after that point.
#
# Usage: bench/deploy.sh [runs]   (needs curl, python3; docker for the second half)
#        FERRY_BIN=/path/to/ferry bench/deploy.sh   # measure that binary (no build), e.g.
#                                                   # to compare two builds run by run
set -euo pipefail
cd "$(dirname "$0")/.."
bench=deploy
source bench/lib.sh
runs=${1:-5}
bench_require curl python3
bench_setup
bench_ferry_bin
export FERRY_DATA_DIR="$work/data"
bench_start_ferry "$FERRY_DATA_DIR" "$work/server.log" --runtime auto
router=$ferry_router

# measure HOST MARKER -- deploy args…: prints milliseconds until HOST serves MARKER.
measure() {
  local host=$1 marker=$2; shift 3
  local start end body
  start=$(bench_now_ms)
  "$ferry" deploy --detach "$@" >/dev/null 2>&1
  bench_wait_body "$router" "$host" "$marker" 60000 "$start" "$work/server.log"
  end=$(bench_now_ms)
  # After the switch, nothing older may answer.
  for _ in $(seq 1 20); do
    body=$(curl -s --max-time 2 -H "Host: $host" "http://$router/")
    [[ "$body" == *"$marker"* ]] || { echo "old revision served after switch: $body" >&2; exit 1; }
  done
  echo $(( end - start ))
}

echo "== process runtime (examples/apps/hello)"
"$ferry" deploy examples/apps/hello --env MARKER=warm >/dev/null 2>&1
times=()
for i in $(seq 1 "$runs"); do
  t=$(measure hello.localhost "p$i" -- examples/apps/hello --env "MARKER=p$i")
  echo "  deploy $i: ${t} ms"; times+=("$t")
done
process_median=$(bench_median_ms "${times[@]}")
echo "  median: ${process_median} ms"

docker_median="n/a"
if docker info >/dev/null 2>&1 && grep -q '"docker"' <("$ferry" status --json); then
  echo "== docker runtime (busybox httpd image)"
  image=$(bench_busybox_httpd_image)
  cmd='echo "$MARKER" > /www/index.html && exec httpd -f -p "$PORT" -h /www'
  "$ferry" deploy --image "$image" --name web --command "$cmd" --env MARKER=warm >/dev/null 2>&1
  times=()
  for i in $(seq 1 "$runs"); do
    t=$(measure web.localhost "d$i" -- --image "$image" --name web --command "$cmd" --env "MARKER=d$i")
    echo "  deploy $i: ${t} ms"; times+=("$t")
  done
  docker_median=$(bench_median_ms "${times[@]}")
  echo "  median: ${docker_median} ms"
else
  echo "== docker runtime: skipped (no Docker Engine answering)"
fi

echo
echo "deploy → 100% traffic, median of $runs: process ${process_median} ms, docker ${docker_median} ms (goal ≤ 2000 ms)"
