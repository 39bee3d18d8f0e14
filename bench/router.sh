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

bench=router
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_require nginx wrk curl cargo python3
bench_setup

# nginx workers drop to an unprivileged user when started as root: let them read.
chmod 755 "$work"

bench_ferry_bin
ferry_bin=$ferry

nginx_proxy_port=$(bench_free_port)
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
bench_start_ferry "$FERRY_DATA_DIR" "$work/server.log" --runtime process \
    ${ROUTER_THREADS:+--router-threads "$ROUTER_THREADS"}
ferry_port=${ferry_router##*:}
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
bench_track $!

bench_wait_http "http://127.0.0.1:$upstream_port/index.html"
bench_wait_http "http://127.0.0.1:$nginx_proxy_port/index.html" "$HOST"
bench_wait_http "http://127.0.0.1:$ferry_port/index.html" "$HOST"

measure() { # name port
    bench_wrk "$1" "http://127.0.0.1:$2/index.html" "$HOST"
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
