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

for tool in nginx wrk curl cargo python3; do
    command -v "$tool" >/dev/null || { echo "static.sh: $tool is required" >&2; exit 1; }
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/ferry-bench-static.XXXXXX")
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

wait_for() { # url host
    local url=$1 host=$2
    for _ in $(seq 1 100); do
        if curl -fsS -o /dev/null -H "Host: $host" "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "static.sh: $url did not come up" >&2
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

# The site: detected as static (public/index.html, no ferry.toml).
mkdir -p "$work/site/public" "$work/nginx"
python3 -c 'print("<!doctype html><html><head><title>ferry bench</title></head><body>" + "<p>ferry static benchmark page</p>" * 16 + "</body></html>")' \
    >"$work/site/public/index.html"
head -c $((256 * 1024)) /dev/urandom >"$work/site/public/asset.bin"
chmod -R a+rX "$work/site"

export FERRY_DATA_DIR="$work/data"
"$ferry_bin" server --api 127.0.0.1:0 --router 127.0.0.1:0 --runtime process \
    ${ROUTER_THREADS:+--router-threads "$ROUTER_THREADS"} 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 1 200); do [[ -f $FERRY_DATA_DIR/server.json ]] && break; sleep 0.05; done
ferry_port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["router"].rsplit(":",1)[1])' "$FERRY_DATA_DIR/server.json")
"$ferry_bin" deploy "$work/site" --name site >/dev/null 2>"$work/deploy.log" || { cat "$work/deploy.log" >&2; exit 1; }
instances=$("$ferry_bin" status site --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runtime"]["instances"]))')
if [[ $instances != 0 ]]; then
    echo "static.sh: the site runs $instances instance(s); expected the router to serve it" >&2
    exit 1
fi

nginx_port=$(free_port)
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
pids+=($!)

wait_for "http://127.0.0.1:$nginx_port/index.html" "$HOST"
wait_for "http://127.0.0.1:$ferry_port/index.html" "$HOST"
for file in index.html asset.bin; do
    if ! cmp -s <(curl -fsS -H "Host: $HOST" "http://127.0.0.1:$ferry_port/$file") "$work/site/public/$file"; then
        echo "static.sh: ferry's $file differs from the file" >&2
        exit 1
    fi
done

# Prints "requests_per_second p99_ms" for one wrk run.
measure() { # name port path
    local name=$1 port=$2 path=$3 out
    local url="http://127.0.0.1:$port$path"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" -H "Host: $HOST" "$url" >/dev/null
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "Host: $HOST" "$url")
    echo "$out" >"$work/wrk-$name.txt"
    if grep -q "Non-2xx" <<<"$out"; then
        echo "static.sh: $name answered non-2xx responses:" >&2
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
