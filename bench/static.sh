#!/usr/bin/env bash
# Static files: ferry's router serving a static site from its revision's files against
# nginx serving the same directory, measured in one run. Both answer the same small
# page (about the size of nginx's default index.html) and a 256 KiB asset.
#
#   bench/static.sh                      # defaults: wrk -t2 -c50 -d10s
#   DURATION=30s CONNECTIONS=100 bench/static.sh
#   ROUTER_THREADS=1 bench/static.sh     # ferry's router on one thread, like nginx's one worker
#   NGINX_WORKERS=2 bench/static.sh      # nginx with as many workers as ferry has threads
#   FERRY_BIN=/path/to/ferry bench/static.sh  # measure that binary (no build)
#
# Prints requests/s and p99 for each file from ferry and from nginx (sendfile on, its
# usual production setting) and the ratios ferry/nginx. Needs nginx, wrk, curl and
# cargo; only loopback addresses are used.
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-50}
WARMUP=${WARMUP:-2s}
ROUTER_THREADS=${ROUTER_THREADS:-}
NGINX_WORKERS=${NGINX_WORKERS:-1}
HOST=site.localhost

bench=static
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_require nginx wrk curl cargo python3
bench_setup

# nginx workers drop to an unprivileged user when started as root: let them read.
chmod 755 "$work"

bench_ferry_bin
ferry_bin=$ferry

# The site: detected as static (public/index.html, no ferry.toml).
mkdir -p "$work/site/public" "$work/nginx"
python3 -c 'print("<!doctype html><html><head><title>ferry bench</title></head><body>" + "<p>ferry static benchmark page</p>" * 16 + "</body></html>")' \
    >"$work/site/public/index.html"
head -c $((256 * 1024)) /dev/urandom >"$work/site/public/asset.bin"
chmod -R a+rX "$work/site"

export FERRY_DATA_DIR="$work/data"
bench_start_ferry "$FERRY_DATA_DIR" "$work/server.log" --runtime process \
    ${ROUTER_THREADS:+--router-threads "$ROUTER_THREADS"}
ferry_port=${ferry_router##*:}
"$ferry_bin" deploy "$work/site" --name site >/dev/null 2>"$work/deploy.log" || { cat "$work/deploy.log" >&2; exit 1; }
instances=$("$ferry_bin" status site --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runtime"]["instances"]))')
if [[ $instances != 0 ]]; then
    echo "static.sh: the site runs $instances instance(s); expected the router to serve it" >&2
    exit 1
fi

nginx_port=$(bench_free_port)
cat >"$work/nginx/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    client_body_temp_path $work/nginx/client_body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/site/public;
    }
}
EOF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
bench_track $!

bench_wait_http "http://127.0.0.1:$nginx_port/index.html" "$HOST"
bench_wait_http "http://127.0.0.1:$ferry_port/index.html" "$HOST"
for file in index.html asset.bin; do
    if ! cmp -s <(curl -fsS -H "Host: $HOST" "http://127.0.0.1:$ferry_port/$file") "$work/site/public/$file"; then
        echo "static.sh: ferry's $file differs from the file" >&2
        exit 1
    fi
done

measure() { # name port path
    bench_wrk "$1" "http://127.0.0.1:$2$3" "$HOST"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (after a $WARMUP warm-up each), $(nproc) CPUs," \
    "nginx: $NGINX_WORKERS worker(s), ferry: ${ROUTER_THREADS:-$(nproc)} router thread(s)"
printf '\n%-28s %14s %10s\n' "target" "requests/s" "p99 ms"
ratios=()
for file in index.html asset.bin; do
    ferry=$(measure "ferry-$file" "$ferry_port" "/$file")
    nginx=$(measure "nginx-$file" "$nginx_port" "/$file")
    read -r ferry_rps ferry_p99 <<<"$ferry"
    read -r nginx_rps nginx_p99 <<<"$nginx"
    printf '%-28s %14.0f %10.2f\n' "ferry  $file" "$ferry_rps" "$ferry_p99"
    printf '%-28s %14.0f %10.2f\n' "nginx  $file" "$nginx_rps" "$nginx_p99"
    ratios+=("$(awk -v f="$ferry_rps" -v n="$nginx_rps" -v name="$file" 'BEGIN { printf "ferry/nginx %-11s = %.2f", name, f / n }')")
done
echo
printf '%s\n' "${ratios[@]}"
