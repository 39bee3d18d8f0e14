#!/usr/bin/env bash
# Registry push and pull: ferry's registry against CNCF Distribution (Debian's
# docker-registry), both on loopback with filesystem storage, driven by the same
# client (skopeo) with the same images in one run: one large multi-layer image and
# many small ones, each with content of its own.
#
#   bench/registry.sh                    # defaults: a 160 MiB image and 200 small ones
#   BIG_MIB=300 SMALL=50 PARALLEL=4 bench/registry.sh
#   FIRST=ferry bench/registry.sh        # which registry pushes first (default distribution)
#   PULL_ROUNDS=5 bench/registry.sh      # pull rounds, order rotating (default 3; medians)
#   PULL_AUTH=token bench/registry.sh    # ferry's pulls send the token (default: anonymous,
#                                        # as Distribution here has no auth at all; pushes
#                                        # to ferry always authenticate)
#   FERRY_REGISTRY_BIN=/path/to/ferry-registry bench/registry.sh   # skip the build
#   SKOPEO_CACHE=system bench/registry.sh   # skopeo uses the machine's blob-info cache
#                                        # (default: a private one on tmpfs, see below)
#
# Prints, per registry, the push and pull times of the large image and of the small
# ones, the ratios ferry/Distribution, each server's CPU time and peak RSS, and the
# same copies done by skopeo alone without a registry (oci layout to oci layout for
# a push, to a dir for a pull): roughly the client's own share of each time (not a
# strict floor: a layout source or destination has costs of its own, HTTP none). Needs skopeo, docker-registry, python3, bc and cargo;
# only loopback addresses are used.
set -euo pipefail

# skopeo records every copied blob in its blob-info cache, a BoltDB file (as root
# /var/lib/containers/cache): each copy takes the file's exclusive lock and fsyncs
# it, and a process that finds the lock taken sleeps 50 ms before trying again. With
# parallel skopeo processes that is time spent waiting on each other and on the
# disk's fsync, whichever registry serves, so it blurs the comparison of the
# registries. By default the run gives skopeo a cache of its own on tmpfs: as root in
# a private mount namespace (the machine's cache is not touched), otherwise through
# XDG_DATA_HOME. SKOPEO_CACHE=system keeps the machine's cache.
SKOPEO_CACHE=${SKOPEO_CACHE:-private}
if [ "$SKOPEO_CACHE" = private ] && [ -z "${FERRY_BENCH_PRIVATE_CACHE:-}" ]; then
    if [ "$(id -u)" = 0 ]; then
        if unshare -m --propagation private true 2>/dev/null; then
            exec env FERRY_BENCH_PRIVATE_CACHE=namespace unshare -m --propagation private bash "${BASH_SOURCE[0]}" "$@"
        fi
        echo "registry.sh: no private mount namespace here; skopeo uses the machine's cache" >&2
        SKOPEO_CACHE=system
    else
        export XDG_DATA_HOME
        XDG_DATA_HOME=$(mktemp -d /dev/shm/ferry-bench-skopeo.XXXXXX)
        export FERRY_BENCH_PRIVATE_CACHE=$XDG_DATA_HOME
    fi
fi
if [ "${FERRY_BENCH_PRIVATE_CACHE:-}" = namespace ]; then
    mkdir -p /var/lib/containers/cache
    mount -t tmpfs -o size=64m,mode=0700 ferry-bench-skopeo /var/lib/containers/cache
fi

BIG_MIB=${BIG_MIB:-160}
SMALL=${SMALL:-200}
# skopeo processes at once for the small images (the same for both registries).
PARALLEL=${PARALLEL:-4}
# Pull rounds (pulls repeat without changing the registries; medians are reported).
PULL_ROUNDS=${PULL_ROUNDS:-3}
PULL_AUTH=${PULL_AUTH:-anonymous}
TOKEN=bench-token

bench=registry
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_require skopeo docker-registry python3 cargo curl bc
bench_setup
repo=$bench_repo
bench_on_exit() {
    case ${FERRY_BENCH_PRIVATE_CACHE:-} in /dev/shm/*) rm -rf "$FERRY_BENCH_PRIVATE_CACHE" ;; esac
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
    ferry_bin="$(bench_target_dir)/release/ferry-registry"
fi

echo "skopeo's blob-info cache: $SKOPEO_CACHE (SKOPEO_CACHE=system|private)"
echo "writing the source images (${BIG_MIB} MiB multi-layer + ${SMALL} small)..."
python3 "$repo/bench/registry_images.py" "$work/src" "$BIG_MIB" "$SMALL"

ferry_port=$(bench_free_port)
"$ferry_bin" serve --root "$work/ferry" --listen "127.0.0.1:$ferry_port" --token "$TOKEN" \
    --anonymous-pull '*' >"$work/ferry.out" 2>"$work/ferry.log" &
ferry_pid=$!
bench_track "$ferry_pid"

dist_port=$(bench_free_port)
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
bench_track "$dist_pid"

bench_wait_answer "http://127.0.0.1:$ferry_port/v2/"
bench_wait_answer "http://127.0.0.1:$dist_port/v2/"

smalls() { for i in $(seq 0 $((SMALL - 1))); do printf 'small-%03d\n' "$i"; done; }

secs_since() { echo "$(now) - $1" | bc; }

# push WHO HOST CREDS: sets push_big and push_small (seconds). WHO "alone" copies to
# oci layouts instead of a registry.
push() {
    local who=$1 host=$2 creds=$3 t0
    local dest=(--dest-tls-verify=false)
    if [ -n "$creds" ]; then dest+=(--dest-creds "$creds"); fi
    rm -rf "$work/alone"; mkdir -p "$work/alone"
    t0=$(now)
    if [ "$who" = alone ]; then
        skopeo copy -q "oci:$work/src:big" "oci:$work/alone/big:v1"
    else
        skopeo copy -q "${dest[@]}" "oci:$work/src:big" "docker://$host/bench/big:v1"
    fi
    push_big=$(secs_since "$t0")
    t0=$(now)
    if [ "$who" = alone ]; then
        # One layout per image: skopeo does not lock a layout's index.json.
        smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "oci:$work/src:{}" "oci:$work/alone/{}:v1"
    else
        smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "${dest[@]}" "oci:$work/src:{}" "docker://$host/bench/{}:v1"
    fi
    push_small=$(secs_since "$t0")
    rm -rf "$work/alone"
}

# pull WHO HOST CREDS: sets pull_big and pull_small (seconds). WHO "alone" copies
# from the source layout.
pull() {
    local who=$1 host=$2 creds=$3 t0 out="$work/pull-$1"
    local src=(--src-tls-verify=false)
    if [ -n "$creds" ]; then src+=(--src-creds "$creds"); fi
    rm -rf "$out"; mkdir -p "$out"
    t0=$(now)
    if [ "$who" = alone ]; then
        skopeo copy -q "oci:$work/src:big" "dir:$out/big"
    else
        skopeo copy -q "${src[@]}" "docker://$host/bench/big:v1" "dir:$out/big"
    fi
    pull_big=$(secs_since "$t0")
    t0=$(now)
    if [ "$who" = alone ]; then
        smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "oci:$work/src:{}" "dir:$out/{}"
    else
        smalls | xargs -P "$PARALLEL" -I{} skopeo copy -q "${src[@]}" "docker://$host/bench/{}:v1" "dir:$out/{}"
    fi
    pull_small=$(secs_since "$t0")
    rm -rf "$out"
}


ferry_host="127.0.0.1:$ferry_port" dist_host="127.0.0.1:$dist_port"
order=(distribution ferry)
if [ "${FIRST:-distribution}" = ferry ]; then order=(ferry distribution); fi

# Pushes happen once (a second push of the same content is a no-op); each server's
# CPU time is read around its own pushes.
for who in "${order[@]}" alone; do
    echo "push: $who..."
    case $who in
        ferry) c0=$(cpu_secs "$ferry_pid"); push ferry "$ferry_host" "ferry:$TOKEN"
               f_push_big=$push_big f_push_small=$push_small
               f_push_cpu=$(echo "$(cpu_secs "$ferry_pid") - $c0" | bc) ;;
        distribution) c0=$(cpu_secs "$dist_pid"); push distribution "$dist_host" ""
               d_push_big=$push_big d_push_small=$push_small
               d_push_cpu=$(echo "$(cpu_secs "$dist_pid") - $c0" | bc) ;;
        alone) push alone "" ""; n_push_big=$push_big n_push_small=$push_small ;;
    esac
done

# Pulls repeat PULL_ROUNDS times, the order rotating each round so that neither
# registry always follows the other; the medians are reported.
f_pb=() f_ps=() d_pb=() d_ps=() n_pb=() n_ps=()
f_c0=$(cpu_secs "$ferry_pid") d_c0=$(cpu_secs "$dist_pid")
# Distribution runs without auth; ferry lets anyone pull (--anonymous-pull '*'), so by
# default both serve pulls the same way. PULL_AUTH=token sends ferry the token anyway.
ferry_pull_creds=""
[ "$PULL_AUTH" = token ] && ferry_pull_creds="ferry:$TOKEN"
contestants=("${order[@]}" alone)
for round in $(seq 1 "$PULL_ROUNDS"); do
    echo "pull round $round: ${contestants[*]}..."
    for who in "${contestants[@]}"; do
        case $who in
            ferry) pull ferry "$ferry_host" "$ferry_pull_creds"; f_pb+=("$pull_big"); f_ps+=("$pull_small") ;;
            distribution) pull distribution "$dist_host" ""; d_pb+=("$pull_big"); d_ps+=("$pull_small") ;;
            alone) pull alone "" ""; n_pb+=("$pull_big"); n_ps+=("$pull_small") ;;
        esac
    done
    contestants=("${contestants[@]:1}" "${contestants[0]}")
done
f_pull_cpu=$(echo "($(cpu_secs "$ferry_pid") - $f_c0) / $PULL_ROUNDS" | bc -l)
d_pull_cpu=$(echo "($(cpu_secs "$dist_pid") - $d_c0) / $PULL_ROUNDS" | bc -l)
f_pull_big=$(bench_median "${f_pb[@]}") f_pull_small=$(bench_median "${f_ps[@]}")
d_pull_big=$(bench_median "${d_pb[@]}") d_pull_small=$(bench_median "${d_ps[@]}")
n_pull_big=$(bench_median "${n_pb[@]}") n_pull_small=$(bench_median "${n_ps[@]}")

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
row "pull total (medians)" "$f_pull" "$d_pull" "$n_pull"
printf '%-28s %10.2f %12.2f %8s\n' "server CPU, pushes (s)" "$f_push_cpu" "$d_push_cpu" "$(ratio "$f_push_cpu" "$d_push_cpu")"
printf '%-28s %10.2f %12.2f %8s\n' "server CPU, a pull round (s)" "$f_pull_cpu" "$d_pull_cpu" "$(ratio "$f_pull_cpu" "$d_pull_cpu")"
printf '%-28s %10s %12s\n' "peak RSS (MiB)" "$(peak_rss_mib "$ferry_pid")" "$(peak_rss_mib "$dist_pid")"
