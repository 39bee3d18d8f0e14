#!/usr/bin/env bash
# Registry push and pull: ferry's registry against CNCF Distribution (Debian's
# docker-registry), both on loopback with filesystem storage, driven by the same
# client (skopeo) with the same images in one run: one large multi-layer image and
# many small ones, each with content of its own.
#
#   bench/registry.sh                    # defaults: a 160 MiB image and 200 small ones
#   BIG_MIB=300 SMALL=50 PARALLEL=4 bench/registry.sh
#   FIRST=ferry bench/registry.sh        # which registry runs first (default distribution)
#   FERRY_REGISTRY_BIN=/path/to/ferry-registry bench/registry.sh   # skip the build
#
# Prints, per registry, the push and pull times of the large image and of the small
# ones, the ratios ferry/Distribution, each server's CPU time and peak RSS, and the
# same copies done by skopeo alone without a registry (oci layout to oci layout for
# a push, to a dir for a pull): the client's own share of every time above, which
# no registry can go below. Needs skopeo, docker-registry, python3, bc and cargo;
# only loopback addresses are used.
set -euo pipefail

BIG_MIB=${BIG_MIB:-160}
SMALL=${SMALL:-200}
# skopeo processes at once for the small images (the same for both registries).
PARALLEL=${PARALLEL:-4}
TOKEN=bench-token

for tool in skopeo docker-registry python3 cargo; do
    command -v "$tool" >/dev/null || { echo "registry.sh: $tool is required" >&2; exit 1; }
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-registry.XXXXXX")
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # url
    for _ in $(seq 1 100); do
        if python3 -c "import urllib.request,sys
try: urllib.request.urlopen(sys.argv[1], timeout=1)
except urllib.error.HTTPError: pass" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "registry.sh: $1 did not come up" >&2
    return 1
}

peak_rss_mib() { # pid
    awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$1/status"
}

cpu_secs() { # pid: user + system time so far
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

now() { date +%s.%N; }

if [ -n "${FERRY_REGISTRY_BIN:-}" ]; then
    ferry_bin=$FERRY_REGISTRY_BIN
else
    echo "building ferry-registry (release)..."
    (cd "$repo" && cargo build --release -q -p ferry-registry --bin ferry-registry)
    target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    ferry_bin="$target_dir/release/ferry-registry"
fi

echo "writing the source images (${BIG_MIB} MiB multi-layer + ${SMALL} small)..."
python3 "$repo/bench/registry_images.py" "$work/src" "$BIG_MIB" "$SMALL"

ferry_port=$(free_port)
"$ferry_bin" serve --root "$work/ferry" --listen "127.0.0.1:$ferry_port" --token "$TOKEN" \
    >"$work/ferry.out" 2>"$work/ferry.log" &
ferry_pid=$!
pids+=("$ferry_pid")

dist_port=$(free_port)
cat >"$work/distribution.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/distribution
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$dist_port
YAML
docker-registry serve "$work/distribution.yml" >"$work/distribution.log" 2>&1 &
dist_pid=$!
pids+=("$dist_pid")

wait_for "http://127.0.0.1:$ferry_port/v2/"
wait_for "http://127.0.0.1:$dist_port/v2/"

smalls() { for i in $(seq 0 $((SMALL - 1))); do printf 'small-%03d\n' "$i"; done; }

# push NAME HOSTPORT CREDS-ARGS...; sets push_big and push_small (seconds)
run() { # name port creds
    local name=$1 port=$2 creds=$3
    local host="127.0.0.1:$port" t0 t1
    local dest=(--dest-tls-verify=false) src=(--src-tls-verify=false)
    if [ -n "$creds" ]; then dest+=(--dest-creds "$creds"); src+=(--src-creds "$creds"); fi

    t0=$(now)
    skopeo copy -q "${dest[@]}" "oci:$work/src:big" "docker://$host/bench/big:v1"
    t1=$(now); push_big=$(echo "$t1 - $t0" | bc)

    t0=$(now)
    smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "${dest[@]}" "oci:$work/src:{}" "docker://$host/bench/{}:v1"
    t1=$(now); push_small=$(echo "$t1 - $t0" | bc)

    rm -rf "$work/pull-$name"; mkdir -p "$work/pull-$name"
    t0=$(now)
    skopeo copy -q "${src[@]}" "docker://$host/bench/big:v1" "dir:$work/pull-$name/big"
    t1=$(now); pull_big=$(echo "$t1 - $t0" | bc)

    t0=$(now)
    smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "${src[@]}" "docker://$host/bench/{}:v1" "dir:$work/pull-$name/{}"
    t1=$(now); pull_small=$(echo "$t1 - $t0" | bc)
    rm -rf "$work/pull-$name"
}

command -v bc >/dev/null || { echo "registry.sh: bc is required" >&2; exit 1; }

# The same copies without a registry: what skopeo itself costs.
floor() {
    local t0 t1
    rm -rf "$work/floor"; mkdir -p "$work/floor"
    t0=$(now)
    skopeo copy -q "oci:$work/src:big" "oci:$work/floor/push-big:v1"
    t1=$(now); push_big=$(echo "$t1 - $t0" | bc)
    t0=$(now)
    smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "oci:$work/src:{}" "oci:$work/floor/push-{}:v1"
    t1=$(now); push_small=$(echo "$t1 - $t0" | bc)
    t0=$(now)
    skopeo copy -q "oci:$work/src:big" "dir:$work/floor/big"
    t1=$(now); pull_big=$(echo "$t1 - $t0" | bc)
    t0=$(now)
    smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "oci:$work/src:{}" "dir:$work/floor/{}"
    t1=$(now); pull_small=$(echo "$t1 - $t0" | bc)
    rm -rf "$work/floor"
}

run_distribution() {
    echo "Distribution..."
    local c0; c0=$(cpu_secs "$dist_pid")
    run distribution "$dist_port" ""
    d_push_big=$push_big d_push_small=$push_small d_pull_big=$pull_big d_pull_small=$pull_small
    d_cpu=$(echo "$(cpu_secs "$dist_pid") - $c0" | bc)
}
run_ferry() {
    echo "ferry..."
    local c0; c0=$(cpu_secs "$ferry_pid")
    run ferry "$ferry_port" "ferry:$TOKEN"
    f_push_big=$push_big f_push_small=$push_small f_pull_big=$pull_big f_pull_small=$pull_small
    f_cpu=$(echo "$(cpu_secs "$ferry_pid") - $c0" | bc)
}
if [ "${FIRST:-distribution}" = ferry ]; then
    run_ferry; run_distribution
else
    run_distribution; run_ferry
fi
echo "skopeo alone..."
floor
n_push_big=$push_big n_push_small=$push_small n_pull_big=$pull_big n_pull_small=$pull_small

ratio() { echo "scale=2; $1 / $2" | bc; }
row() { # label ferry distribution skopeo-alone
    printf '%-28s %10.2f %12.2f %8s %13.2f\n' "$1" "$2" "$3" "$(ratio "$2" "$3")" "$4"
}
printf '\n%-28s %10s %12s %8s %13s\n' "" "ferry (s)" "distrib (s)" "ratio" "skopeo alone"
row "push ${BIG_MIB} MiB image" "$f_push_big" "$d_push_big" "$n_push_big"
row "push ${SMALL} small images" "$f_push_small" "$d_push_small" "$n_push_small"
row "pull ${BIG_MIB} MiB image" "$f_pull_big" "$d_pull_big" "$n_pull_big"
row "pull ${SMALL} small images" "$f_pull_small" "$d_pull_small" "$n_pull_small"
f_push=$(echo "$f_push_big + $f_push_small" | bc); d_push=$(echo "$d_push_big + $d_push_small" | bc)
f_pull=$(echo "$f_pull_big + $f_pull_small" | bc); d_pull=$(echo "$d_pull_big + $d_pull_small" | bc)
n_push=$(echo "$n_push_big + $n_push_small" | bc); n_pull=$(echo "$n_pull_big + $n_pull_small" | bc)
row "push total" "$f_push" "$d_push" "$n_push"
row "pull total" "$f_pull" "$d_pull" "$n_pull"
printf '%-28s %10s %12s\n' "server CPU, all copies (s)" "$f_cpu" "$d_cpu"
printf '%-28s %10s %12s\n' "peak RSS (MiB)" "$(peak_rss_mib "$ferry_pid")" "$(peak_rss_mib "$dist_pid")"
