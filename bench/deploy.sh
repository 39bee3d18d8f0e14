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
runs=${1:-5}
target=${CARGO_TARGET_DIR:-target}
if [ -n "${FERRY_BIN:-}" ]; then
  ferry=$FERRY_BIN
else
  cargo build --release -q -p ferry-cli
  ferry="$target/release/ferry"
fi

work=$(mktemp -d)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  if command -v docker >/dev/null && [ -n "${namespace:-}" ]; then
    docker ps -aq --filter "label=ferry.namespace=$namespace" | xargs -r docker rm -f >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export FERRY_DATA_DIR="$work/data"

"$ferry" server --api 127.0.0.1:0 --router 127.0.0.1:0 --runtime auto >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [ -f "$FERRY_DATA_DIR/server.json" ] && break; sleep 0.05; done
router=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["router"])' "$FERRY_DATA_DIR/server.json")
namespace=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:12])' "$FERRY_DATA_DIR")

now_ms() { date +%s%3N; }

# measure HOST MARKER -- deploy args…: prints milliseconds until HOST serves MARKER.
measure() {
  local host=$1 marker=$2; shift 3
  local start end body
  start=$(now_ms)
  "$ferry" deploy --detach "$@" >/dev/null 2>&1
  while :; do
    body=$(curl -s --max-time 2 -H "Host: $host" "http://$router/" || true)
    if [[ "$body" == *"$marker"* ]]; then break; fi
    if (( $(now_ms) - start > 60000 )); then echo "timeout waiting for $marker" >&2; exit 1; fi
  done
  end=$(now_ms)
  # After the switch, nothing older may answer.
  for _ in $(seq 1 20); do
    body=$(curl -s --max-time 2 -H "Host: $host" "http://$router/")
    [[ "$body" == *"$marker"* ]] || { echo "old revision served after switch: $body" >&2; exit 1; }
  done
  echo $(( end - start ))
}

median() { python3 -c 'import statistics,sys; print(int(statistics.median(int(x) for x in sys.argv[1:])))' "$@"; }

echo "== process runtime (examples/apps/hello)"
"$ferry" deploy examples/apps/hello --env MARKER=warm >/dev/null 2>&1
times=()
for i in $(seq 1 "$runs"); do
  t=$(measure hello.localhost "p$i" -- examples/apps/hello --env "MARKER=p$i")
  echo "  deploy $i: ${t} ms"; times+=("$t")
done
process_median=$(median "${times[@]}")
echo "  median: ${process_median} ms"

docker_median="n/a"
if docker info >/dev/null 2>&1 && grep -q '"docker"' <("$ferry" status --json); then
  echo "== docker runtime (busybox httpd image)"
  image=ferry-bench-busybox:1
  if ! docker image inspect "$image" >/dev/null 2>&1; then
    root="$work/rootfs"; mkdir -p "$root/bin" "$root/www"
    cp /bin/busybox "$root/bin/"; for a in sh httpd echo; do ln -s busybox "$root/bin/$a"; done
    tar -C "$root" -c . | docker import --change 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' - "$image" >/dev/null
  fi
  cmd='echo "$MARKER" > /www/index.html && exec httpd -f -p "$PORT" -h /www'
  "$ferry" deploy --image "$image" --name web --command "$cmd" --env MARKER=warm >/dev/null 2>&1
  times=()
  for i in $(seq 1 "$runs"); do
    t=$(measure web.localhost "d$i" -- --image "$image" --name web --command "$cmd" --env "MARKER=d$i")
    echo "  deploy $i: ${t} ms"; times+=("$t")
  done
  docker_median=$(median "${times[@]}")
  echo "  median: ${docker_median} ms"
else
  echo "== docker runtime: skipped (no Docker Engine answering)"
fi

echo
echo "deploy → 100% traffic, median of $runs: process ${process_median} ms, docker ${docker_median} ms (goal ≤ 2000 ms)"
