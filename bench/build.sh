#!/usr/bin/env bash
# First build and code-only rebuild on the process back end, for the Python and Node
# examples with one real dependency each (Python: `six` from PyPI into a virtualenv;
# Node: `express`, about 65 packages, from the npm registry into node_modules), timed
# from `ferry deploy` to the new code answering through the router, and the build
# alone (`ferry builds --json`: gates, build steps, the push on docker), which leaves
# out the instance's start (a container and the app: a fixed second or so on docker).
# Prints first / rebuild for both; the goal (issue 12) is a rebuild at least 5x faster. pip's and npm's own caches are disabled / fresh, so
# the first build downloads as a new machine would. Needs network access to PyPI and
# the npm registry, python3, node, npm, curl.
#
# With a Docker Engine, the same first build / code-only rebuild on the docker back
# end, from base images made here from the host's python3 and node (nothing pulled):
# the Python example's requirements install pip from the venv's own wheel with
# --no-index (real work, no network); the Node example installs express from the npm
# registry inside the build.
#
# Then deploy-after-push: `git push ferry main` of a code-only change to the Python
# example (ferry as the git remote) until the new code answers through the router;
# the goal is under 3 s.
#
# Usage: bench/build.sh [rounds]          (default 3; medians reported)
#        FERRY_BIN=/path/to/ferry bench/build.sh   # that binary, no build
set -euo pipefail
cd "$(dirname "$0")/.."
bench=build
source bench/lib.sh
rounds=${1:-3}
bench_require curl python3 node npm git
bench_setup
bench_ferry_bin
export FERRY_DATA_DIR="$work/data"
# The builds inherit the server's environment: no warm package-manager caches.
export PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
export npm_config_cache="$work/npm-cache" npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

bench_start_ferry "$FERRY_DATA_DIR" "$work/server.log" --runtime process
router=$ferry_router api=$ferry_api

# timed NAME DIR MARKER: milliseconds from `ferry deploy` to NAME serving MARKER.
timed() {
  local name=$1 dir=$2 marker=$3 start
  start=$(bench_now_ms)
  "$ferry" deploy "$dir" --name "$name" --detach >"$work/deploy.out" 2>&1 || { cat "$work/deploy.out" >&2; exit 1; }
  bench_wait_body "$router" "$name.localhost" "$marker" 300000 "$start" "$work/server.log"
  echo $(( $(bench_now_ms) - start ))
}

# build_ms NAME: how long the service's newest build took (the build reconciler's
# own record: gates, build steps and, on docker, the push), without the deploy.
build_ms() {
  FERRY_DATA_DIR=${2:-$FERRY_DATA_DIR} "$ferry" builds "$1" --json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["duration_ms"])'
}

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

declare -A first rebuild bfirst brebuild
for lang in python node; do
  firsts=(); rebuilds=(); bfirsts=(); brebuilds=()
  for round in $(seq 1 "$rounds"); do
    name="$lang-$round"; dir="$work/apps/$name"
    "${lang}_app" "$dir" "first-$round"
    t1=$(timed "$name" "$dir" "first-$round"); b1=$(build_ms "$name")
    # A code-only change: same dependencies, new response.
    "${lang}_app" "$dir" "second-$round"
    t2=$(timed "$name" "$dir" "second-$round"); b2=$(build_ms "$name")
    echo "  $lang round $round: first build ${t1} ms, code-only rebuild ${t2} ms (build steps alone: ${b1} / ${b2} ms)"
    firsts+=("$t1"); rebuilds+=("$t2"); bfirsts+=("$b1"); brebuilds+=("$b2")
    # The next round must miss the cache again: drop this round's entries.
    "$ferry" delete "$name" >/dev/null 2>&1 || true
    rm -rf "$FERRY_DATA_DIR/cache/deps"
  done
  first[$lang]=$(bench_median_ms "${firsts[@]}"); rebuild[$lang]=$(bench_median_ms "${rebuilds[@]}")
  bfirst[$lang]=$(bench_median_ms "${bfirsts[@]}"); brebuild[$lang]=$(bench_median_ms "${brebuilds[@]}")
done

echo "== medians of $rounds (deploy -> serving, process runtime)"
for lang in python node; do
  ratio=$(python3 -c "print(f'{${first[$lang]} / max(${rebuild[$lang]}, 1):.1f}')")
  bratio=$(python3 -c "print(f'{${bfirst[$lang]} / max(${brebuild[$lang]}, 1):.1f}')")
  echo "  $lang: first ${first[$lang]} ms, rebuild ${rebuild[$lang]} ms, ratio ${ratio}x (goal >= 5x); build steps alone ${bfirst[$lang]} / ${brebuild[$lang]} ms, ratio ${bratio}x"
done

echo "== deploy after git push (python example, process runtime, ferry as the git remote)"
token=$("$ferry" token)
origin="$work/origin.git"; clone="$work/clone"
git init -q --bare -b main "$origin"
git init -q -b main "$clone"
python_app "$clone" "push-0"
git -C "$clone" add -A
git -C "$clone" -c user.name=bench -c user.email=bench@localhost commit -q -m "push 0"
git -C "$clone" push -q "$origin" main
"$ferry" deploy --git "$origin" --branch main --name pushed >"$work/deploy.out" 2>&1 || { cat "$work/deploy.out" >&2; exit 1; }
git -C "$clone" remote add ferry "http://ferry:$token@$api/git/pushed.git"
git -C "$clone" fetch -q ferry
pushes=()
for round in $(seq 1 "$rounds"); do
  python_app "$clone" "push-$round"
  git -C "$clone" -c user.name=bench -c user.email=bench@localhost commit -q -am "push $round"
  start=$(bench_now_ms)
  git -C "$clone" push -q ferry main >"$work/push.out" 2>&1 || { cat "$work/push.out" >&2; exit 1; }
  bench_wait_body "$router" pushed.localhost "push-$round" 120000 "$start" "$work/server.log"
  t=$(( $(bench_now_ms) - start ))
  echo "  push $round: ${t} ms from git push to the new code serving"
  pushes+=("$t")
done
echo "  median of $rounds: $(bench_median_ms "${pushes[@]}") ms (goal < 3000 ms)"

if docker info >/dev/null 2>&1; then
  echo "== docker back end (python and node examples, dependency layer reused on a code-only change)"
  base=ferry-bench-python:1
  if ! docker image inspect "$base" >/dev/null 2>&1; then
    sh -c '
set -e
root=$(mktemp -d)
trap "rm -rf $root" EXIT
eval "$(python3 -c "import sys,os,sysconfig; print(\"py=%s stdlib=%s\" % (os.path.realpath(sys.executable), sysconfig.get_paths()[\"stdlib\"]))")"
mkdir -p "$root$(dirname "$py")" "$root/usr/bin" "$root/bin" "$root/tmp"
cp "$py" "$root$py"; ln -s "$py" "$root/usr/bin/python3"
for lib in $( (ldd "$py"; for so in "$stdlib"/lib-dynload/*.so; do ldd "$so"; done) 2>/dev/null | grep -o "/[^ ]*" | sort -u); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
tar -C / --exclude=__pycache__ --exclude="${stdlib#/}/test" --exclude="${stdlib#/}/site-packages" -c "${stdlib#/}" | tar -C "$root" -x
mkdir -p "$root$stdlib/site-packages"
cp /bin/busybox "$root/bin/busybox"
for applet in sh echo cat ls mkdir rm env; do ln -s busybox "$root/bin/$applet"; done
tar -C "$root" -c . | docker import - "$1" >/dev/null
' sh "$base"
  fi
  node_base=ferry-bench-node:1
  if ! docker image inspect "$node_base" >/dev/null 2>&1; then
    # The host's node and npm, the libraries node links, busybox for /bin/sh, and
    # the host's CA bundle (an intercepting proxy's CA, where there is one) for npm.
    sh -c '
set -e
root=$(mktemp -d)
trap "rm -rf $root" EXIT
node=$(readlink -f "$(command -v node)")
npm_root=$(npm root -g)
mkdir -p "$root/usr/bin" "$root/bin" "$root/tmp" "$root/etc/ssl/certs" "$root$npm_root"
cp "$node" "$root/usr/bin/node"
for lib in $(ldd "$node" | grep -o "/[^ ]*" | sort -u); do mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"; done
cp -a "$npm_root/npm" "$root$npm_root/"
ln -s "$npm_root/npm/bin/npm-cli.js" "$root/usr/bin/npm"
cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
cp /bin/busybox "$root/bin/busybox"
for applet in sh echo cat ls mkdir rm env; do ln -s busybox "$root/bin/$applet"; done
ln -s /bin/env "$root/usr/bin/env"
tar -C "$root" -c . | docker import --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt" - "$1" >/dev/null
' sh "$node_base"
  fi
  docker_data="$work/docker-data"
  FERRY_BASE_PYTHON="$base" FERRY_BASE_NODE="$node_base" \
    bench_start_ferry "$docker_data" "$work/docker-server.log" --runtime auto
  docker_server=$ferry_pid router_docker=$ferry_router
  docker_app() { # DIR MARKER NONCE
    mkdir -p "$1"
    printf '# %s\n--no-index\npip\n' "$3" >"$1/requirements.txt"
    sed -e "s/Hello from a detected Python app/$2/" examples/apps/python-hello/main.py >"$1/main.py"
  }
  declare -A dfirst drebuild dbfirst dbrebuild
  for lang in python node; do
    dfirsts=(); drebuilds=(); dbfirsts=(); dbrebuilds=()
    for round in $(seq 1 "$rounds"); do
      name="d$lang-$round"; dir="$work/docker-apps/$name"; nonce="$(date +%s%N)"
      for step in first second; do
        marker="docker-$step-$round"
        if [ "$lang" = python ]; then
          docker_app "$dir" "$marker" "$nonce"
        else
          # A description per round: the engine's layer cache must miss on a first build.
          node_app "$dir" "$marker"
          sed -i "s/\"private\": true,/\"private\": true, \"description\": \"$nonce\",/" "$dir/package.json"
        fi
        start=$(bench_now_ms)
        FERRY_DATA_DIR="$docker_data" "$ferry" deploy "$dir" --name "$name" --runtime docker --detach >"$work/deploy.out" 2>&1 || { cat "$work/deploy.out" >&2; exit 1; }
        bench_wait_body "$router_docker" "$name.localhost" "$marker" 300000 "$start" "$work/docker-server.log"
        t=$(( $(bench_now_ms) - start )); b=$(build_ms "$name" "$docker_data")
        if [ "$step" = first ]; then dfirsts+=("$t"); dbfirsts+=("$b"); t1=$t; b1=$b; else drebuilds+=("$t"); dbrebuilds+=("$b"); echo "  docker $lang round $round: first build ${t1} ms, code-only rebuild ${t} ms (build steps alone: ${b1} / ${b} ms)"; fi
      done
      FERRY_DATA_DIR="$docker_data" "$ferry" delete "$name" >/dev/null 2>&1 || true
      # As for the process back end, the next round's first build starts without
      # package caches: drop BuildKit's cache mounts (pip, npm, …), keep its layers.
      docker builder prune -f --filter type=exec.cachemount >/dev/null 2>&1 || true
    done
    dfirst[$lang]=$(bench_median_ms "${dfirsts[@]}"); drebuild[$lang]=$(bench_median_ms "${drebuilds[@]}")
    dbfirst[$lang]=$(bench_median_ms "${dbfirsts[@]}"); dbrebuild[$lang]=$(bench_median_ms "${dbrebuilds[@]}")
  done
  kill -TERM "$docker_server" 2>/dev/null; wait "$docker_server" 2>/dev/null || true
  for lang in python node; do
    df=${dfirst[$lang]}; dr=${drebuild[$lang]}
    bf=${dbfirst[$lang]}; br=${dbrebuild[$lang]}
    echo "  docker $lang: first $df ms, rebuild $dr ms, ratio $(python3 -c "print(f'{$df / max($dr, 1):.1f}')")x (goal >= 5x); build steps alone $bf / $br ms, ratio $(python3 -c "print(f'{$bf / max($br, 1):.1f}')")x"
  done
else
  echo "== docker back end: skipped (no Docker Engine answering)"
fi
