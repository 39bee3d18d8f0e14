# Shared by the bench scripts (sourced, after `set -euo pipefail`): a work directory
# removed on exit together with the processes a run started, the ferry binary, a
# `ferry server` on free loopback ports, free ports, waits and medians.
#
# A script sets `bench` (its name, for messages) before sourcing, and may define
# `bench_on_exit` for cleanup of its own (run first on exit).

bench_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench_pids=()
bench_namespaces=()

# bench_require TOOL...: exits naming the first one missing.
bench_require() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$bench: $tool is required" >&2; exit 1; }
    done
}

# bench_setup: sets `work` (a new temporary directory) and the traps that clean up.
bench_setup() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-$bench.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

# bench_track PID: stopped (SIGTERM, then waited for) on exit.
bench_track() { bench_pids+=("$1"); }

bench_cleanup() {
    local pid namespace
    if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
    for pid in "${bench_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${bench_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    # Containers of the ferry servers the run started (their data dirs are going).
    if command -v docker >/dev/null; then
        for namespace in "${bench_namespaces[@]}"; do
            docker ps -aq --filter "label=ferry.namespace=$namespace" | xargs -r docker rm -f >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$work"
}

bench_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# bench_wait_http URL [HOST]: until URL answers 2xx (with that Host header), 10 s.
bench_wait_http() {
    local url=$1 host=${2:-localhost}
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null -H "Host: $host" "$url" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$bench: $url did not come up" >&2
    return 1
}

# bench_wait_answer URL: until URL answers HTTP at all (any status), 10 s.
bench_wait_answer() {
    for _ in $(seq 1 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" != 000 ] && return 0
        sleep 0.1
    done
    echo "$bench: $1 did not come up" >&2
    return 1
}

bench_now_ms() { date +%s%3N; }

# bench_median_ms N...: the median, rounded to a whole number.
bench_median_ms() {
    python3 -c 'import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:])))' "$@"
}

# bench_median N...: the median, to three decimals at most.
bench_median() {
    python3 -c 'import statistics,sys; print(round(statistics.median(float(x) for x in sys.argv[1:]), 3))' "$@"
}

# bench_ferry_bin: sets `ferry`: $FERRY_BIN, or a release build of this checkout.
bench_ferry_bin() {
    if [ -n "${FERRY_BIN:-}" ]; then
        ferry=$FERRY_BIN
        return
    fi
    echo "== building ferry (release)"
    (cd "$bench_repo" && cargo build --release -q -p ferry-cli)
    ferry="$(bench_target_dir)/release/ferry"
}

bench_target_dir() {
    (cd "$bench_repo" && cargo metadata --format-version 1 --no-deps) |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])'
}

# bench_start_ferry DATA_DIR LOG [SERVER ARGS...]: `ferry server` on free loopback
# ports with that data dir, its output in LOG. Sets `ferry_pid`, `ferry_router` and
# `ferry_api` (host:port) and `ferry_namespace` (its containers' label).
bench_start_ferry() {
    local data=$1 log=$2
    shift 2
    FERRY_DATA_DIR="$data" "$ferry" server --api 127.0.0.1:0 --router 127.0.0.1:0 "$@" >"$log" 2>&1 &
    ferry_pid=$!
    bench_track "$ferry_pid"
    for _ in $(seq 1 200); do [ -f "$data/server.json" ] && break; sleep 0.05; done
    [ -f "$data/server.json" ] || { echo "$bench: ferry server did not start:" >&2; tail -20 "$log" >&2; exit 1; }
    ferry_router=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["router"])' "$data/server.json")
    ferry_api=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$data/server.json")
    ferry_namespace=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:12])' "$data")
    bench_namespaces+=("$ferry_namespace")
}

# bench_wait_body ROUTER HOST MARKER TIMEOUT_MS START_MS [LOG]: until HOST answers
# through ROUTER with a body containing MARKER; exits (with LOG's tail) after
# TIMEOUT_MS from START_MS.
bench_wait_body() {
    local router=$1 host=$2 marker=$3 timeout=$4 start=$5 log=${6:-} body
    while :; do
        body=$(curl -s --max-time 2 -H "Host: $host" "http://$router/" || true)
        [[ "$body" == *"$marker"* ]] && return 0
        if (( $(bench_now_ms) - start > timeout )); then
            echo "$bench: timeout waiting for $marker on $host" >&2
            [ -n "$log" ] && tail -20 "$log" >&2
            exit 1
        fi
        sleep 0.01
    done
}

# bench_busybox_httpd_image: prints the tag of a local image with busybox's httpd
# (made from the host's static busybox the first time; nothing is pulled).
bench_busybox_httpd_image() {
    local image=ferry-bench-busybox:1 root
    if ! docker image inspect "$image" >/dev/null 2>&1; then
        root="$work/busybox-rootfs"
        mkdir -p "$root/bin" "$root/www"
        cp /bin/busybox "$root/bin/"
        for applet in sh httpd echo; do ln -s busybox "$root/bin/$applet"; done
        tar -C "$root" -c . |
            docker import --change 'CMD ["/bin/httpd","-f","-p","8080","-h","/www"]' - "$image" >/dev/null
    fi
    echo "$image"
}

# bench_wrk NAME URL HOST: a warm-up, then the measured wrk run (THREADS,
# CONNECTIONS, WARMUP, DURATION); prints "requests_per_second p99_ms" and keeps
# wrk's output in $work/wrk-NAME.txt. Any non-2xx answer fails the run.
bench_wrk() {
    local name=$1 url=$2 host=$3 out
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Host: $host" "$url" >/dev/null
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Host: $host" "$url")
    echo "$out" >"$work/wrk-$name.txt"
    if grep -q "Non-2xx" <<<"$out"; then
        echo "$bench: $name answered non-2xx responses:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk '
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" {
            v = $2
            if (v ~ /us$/) { sub(/us$/, "", v); p99 = v / 1000 }
            else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v }
            else if (v ~ /m$/) { sub(/m$/, "", v); p99 = v * 60000 }
            else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000 }
        }
        END { printf "%s %s\n", rps, p99 }' <<<"$out"
}
