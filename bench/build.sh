#!/usr/bin/env bash
# First build and code-only rebuild on the process back end, for the Python and Node
# examples with one real dependency each (Python: `six` from PyPI into a virtualenv;
# Node: `express`, about 65 packages, from the npm registry into node_modules), timed
# from `ferry deploy` to the new code answering through the router. Prints first / rebuild; the goal (issue 12)
# is a rebuild at least 5x faster. pip's and npm's own caches are disabled / fresh, so
# the first build downloads as a new machine would. Needs network access to PyPI and
# the npm registry, python3, node, npm, curl.
#
# Usage: bench/build.sh [rounds]          (default 3; medians reported)
#        FERRY_BIN=/path/to/ferry bench/build.sh   # that binary, no build
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
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
  rm -rf "$work"
}
trap cleanup EXIT
export FERRY_DATA_DIR="$work/data"
# The builds inherit the server's environment: no warm package-manager caches.
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export npm_config_cache="$work/npm-cache" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

"$ferry" server --api 127.0.0.1:0 --router 127.0.0.1:0 --runtime process >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 200); do [ -f "$FERRY_DATA_DIR/server.json" ] && break; sleep 0.05; done
router=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["router"])' "$FERRY_DATA_DIR/server.json")

now_ms() { date +%s%3N; }

# timed NAME DIR MARKER: milliseconds from `ferry deploy` to NAME serving MARKER.
timed() {
  local name=$1 dir=$2 marker=$3 start body
  start=$(now_ms)
  "$ferry" deploy "$dir" --name "$name" --detach >"$work/deploy.out" 2>&1 || { cat "$work/deploy.out" >&2; exit 1; }
  while :; do
    body=$(curl -s --max-time 2 -H "Host: $name.localhost" "http://$router/" || true)
    [[ "$body" == *"$marker"* ]] && break
    if (( $(now_ms) - start > 300000 )); then
      echo "timeout waiting for $marker on $name" >&2; tail -20 "$work/server.log" >&2; exit 1
    fi
    sleep 0.05
  done
  echo $(( $(now_ms) - start ))
}

median() { python3 -c 'import statistics,sys; print(int(statistics.median(int(x) for x in sys.argv[1:])))' "$@"; }

# python_app DIR MARKER / node_app DIR MARKER: the example with a dependency it uses.
python_app() {
  mkdir -p "$1"
  printf 'six==1.16.0\n' >"$1/requirements.txt"
  sed -e "s/b\"Hello from a detected Python app/f\"$2 six {six.__version__}/" \
      -e 's/self.wfile.write(body)/self.wfile.write(body.encode())/' \
      -e 's/^import os$/import os\nimport six/' \
      examples/apps/python-hello/main.py >"$1/main.py"
}
node_app() {
  mkdir -p "$1"
  cat >"$1/package.json" <<JSON
{ "name": "bench-node", "version": "1.0.0", "private": true,
  "dependencies": { "express": "4.21.2" }, "scripts": { "start": "node server.js" } }
JSON
  sed -e "s/Hello from a detected Node app/$2 express \${typeof require('express')}/" \
      -e 's/res.end("\(.*\)");/res.end(`\1`);/' \
      examples/apps/node-hello/server.js >"$1/server.js"
}

declare -A first rebuild
for lang in python node; do
  firsts=(); rebuilds=()
  for round in $(seq 1 "$rounds"); do
    name="$lang-$round"; dir="$work/apps/$name"
    "${lang}_app" "$dir" "first-$round"
    t1=$(timed "$name" "$dir" "first-$round")
    # A code-only change: same dependencies, new response.
    "${lang}_app" "$dir" "second-$round"
    t2=$(timed "$name" "$dir" "second-$round")
    echo "  $lang round $round: first build ${t1} ms, code-only rebuild ${t2} ms"
    firsts+=("$t1"); rebuilds+=("$t2")
    # The next round must miss the cache again: drop this round's entries.
    "$ferry" delete "$name" >/dev/null 2>&1 || true
    rm -rf "$FERRY_DATA_DIR/cache/deps"
  done
  first[$lang]=$(median "${firsts[@]}"); rebuild[$lang]=$(median "${rebuilds[@]}")
done

echo "== medians of $rounds (deploy -> serving, process runtime)"
for lang in python node; do
  ratio=$(python3 -c "print(f'{${first[$lang]} / max(${rebuild[$lang]}, 1):.1f}')")
  echo "  $lang: first ${first[$lang]} ms, rebuild ${rebuild[$lang]} ms, ratio ${ratio}x (goal >= 5x)"
done
