#!/usr/bin/env bash
# Reverse-proxy throughput: ferry's router against nginx as a reverse proxy, both in
# front of the same instance, measured in one run. The instance is an app deployed by
# a real `ferry server` (process runtime): nginx serving a small static file, so the
# proxies, not the app, are what is measured.
#
#   bench/router.sh                      # defaults: wrk -t2 -c50 -d10s
#   DURATION=30s CONNECTIONS=100 bench/router.sh
#   ROUTER_THREADS=1 bench/router.sh     # ferry's router on one thread, like nginx's one worker
#   FERRY_BIN=/path/to/ferry bench/router.sh  # measure that binary (no build), e.g. to
#                                             # compare two builds run by run
#
# Prints requests/s and p99 for (a) the upstream directly, (b) ferry, (c) nginx, and
# the ratios ferry/nginx and ferry/direct. Needs nginx, wrk, curl and cargo; only
# loopback addresses are used.
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
WARMUP=${WARMUP:-2s}
# Router threads of `ferry server` (--router-threads); empty means one per CPU.
ROUTER_THREADS=${ROUTER_THREADS:-}
HOST=bench.localhost

for tool in nginx wrk curl cargo python3; do
    command -v "$tool" >/dev/null || { echo "router.sh: $tool is required" >&2; exit 1; }
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-router.XXXXXX")
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

# nginx workers drop to an unprivileged user when started as root: let them read.
chmod 755 "$work"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for() { # url [host]
    local url=$1 host=${2:-localhost}
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null -H "Host: $host" "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "router.sh: $url did not come up" >&2
    return 1
}

if [[ -n ${FERRY_BIN:-} ]]; then
    ferry_bin=$FERRY_BIN
else
    echo "== building ferry (release)"
    (cd "$repo" && cargo build --release --quiet -p ferry-cli)
    target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    ferry_bin="$target_dir/release/ferry"
fi

nginx_proxy_port=$(free_port)
mkdir -p "$work/app/www" "$work/proxy"
# A small page, about the size of nginx's default index.html.
python3 -c 'print("<!doctype html><html><head><title>ferry bench</title></head><body>" + "<p>ferry router benchmark page</p>" * 16 + "</body></html>")' \
    >"$work/app/www/index.html"

common_http='
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path TMP/client_body;
    proxy_temp_path TMP/proxy;
    fastcgi_temp_path TMP/fastcgi;
    uwsgi_temp_path TMP/uwsgi;
    scgi_temp_path TMP/scgi;'

# The app ferry deploys: nginx in the foreground on $PORT, one process (no privilege
# drop, so it can read its revision directory), files from that directory.
cat >"$work/app/nginx.conf.in" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    ${common_http//TMP/tmp}
    server {
        listen 127.0.0.1:__PORT__;
        location / { root www; }
    }
}
EOF
cat >"$work/app/ferry.toml" <<'EOF'
name = "bench"
[run]
command = "mkdir -p tmp && sed \"s/__PORT__/$PORT/\" nginx.conf.in > nginx.conf && exec nginx -p \"$PWD\" -c \"$PWD/nginx.conf\""
[health_check]
protocol = "http"
path = "/index.html"
EOF

export FERRY_DATA_DIR="$work/data"
"$ferry_bin" server --api 127.0.0.1:0 --router 127.0.0.1:0 --runtime process \
    ${ROUTER_THREADS:+--router-threads "$ROUTER_THREADS"} 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 200); do [[ -f $FERRY_DATA_DIR/server.json ]] && break; sleep 0.05; done
ferry_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["router"].rsplit(":",1)[1])' "$FERRY_DATA_DIR/server.json")
"$ferry_bin" deploy "$work/app" >/dev/null 2>"$work/deploy.log" || { cat "$work/deploy.log" >&2; exit 1; }
upstream_port=$("$ferry_bin" status bench --json |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["runtime"]["instances"][0]["address"].rsplit(":",1)[1])')

cat >"$work/proxy/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/proxy/nginx.pid;
error_log $work/proxy/error.log warn;
events { worker_connections 4096; }
http {
    ${common_http//TMP/$work/proxy}
    upstream app {
        server 127.0.0.1:$upstream_port;
        keepalive 128;
    }
    server {
        listen 127.0.0.1:$nginx_proxy_port;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
        }
    }
}
EOF

nginx -c "$work/proxy/nginx.conf" -p "$work/proxy" &
pids+=($!)

wait_for "http://127.0.0.1:$upstream_port/index.html"
wait_for "http://127.0.0.1:$nginx_proxy_port/index.html" "$HOST"
wait_for "http://127.0.0.1:$ferry_port/index.html" "$HOST"

# Prints "requests_per_second p99_ms" for one wrk run.
measure() { # name port
    local name=$1 port=$2 out
    local url="http://127.0.0.1:$port/index.html"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Host: $HOST" "$url" >/dev/null
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Host: $HOST" "$url")
    echo "$out" >"$work/wrk-$name.txt"
    if grep -q "Non-2xx" <<<"$out"; then
        echo "router.sh: $name answered non-2xx responses:" >&2
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

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up each), $(nproc) CPUs," \
    "nginx: 1 worker, ferry: ${ROUTER_THREADS:-$(nproc)} worker thread(s)"
direct=$(measure direct "$upstream_port")
ferry=$(measure ferry "$ferry_port")
nginx=$(measure nginx "$nginx_proxy_port")
read -r direct_rps direct_p99 <<<"$direct"
read -r ferry_rps ferry_p99 <<<"$ferry"
read -r nginx_rps nginx_p99 <<<"$nginx"

printf '\n%-22s %14s %10s\n' "target" "requests/s" "p99 ms"
printf '%-22s %14.0f %10.2f\n' "instance (direct)" "$direct_rps" "$direct_p99"
printf '%-22s %14.0f %10.2f\n' "ferry router" "$ferry_rps" "$ferry_p99"
printf '%-22s %14.0f %10.2f\n' "nginx reverse proxy" "$nginx_rps" "$nginx_p99"
echo
awk -v f="$ferry_rps" -v n="$nginx_rps" -v d="$direct_rps" \
    'BEGIN { printf "ferry/nginx  = %.2f\nferry/direct = %.2f\n", f / n, f / d }'
