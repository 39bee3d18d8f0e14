#!/usr/bin/env bash
# Scale to zero and scale out, measured end to end through ferry's router:
#
#  1. cold start: time to first byte of a request to a service at zero instances
#     (the router holds it while one instance starts), median of N, for the process
#     runtime (examples/apps/hello) and the docker runtime (a busybox image imported
#     locally). The peer is the app itself: the same start command run by this
#     script, timed from spawn to its first byte (the floor any platform pays).
#  2. scale-out: examples/apps/slow-peak (200 ms per request, concurrency 10) under a
#     steady 5 concurrent clients, then a step to 50: the time until the service has
#     as many ready instances as the step needs, and every request's outcome (the
#     goal is zero failures).
#
# Usage: bench/coldstart.sh [runs]        (needs curl, python3; docker for the docker half)
#        FERRY_BIN=/path/to/ferry bench/coldstart.sh   # measure that binary (no build)
set -euo pipefail
cd "$(dirname "$0")/.."
bench=coldstart
source bench/lib.sh
runs=${1:-10}
bench_require curl python3
bench_setup
bench_ferry_bin
export FERRY_DATA_DIR="$work/data"
bench_start_ferry "$FERRY_DATA_DIR" "$work/server.log" --runtime auto
router=$ferry_router

# instances NAME: every instance of a service (starting, ready or stopping).
instances() {
  "$ferry" status "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runtime"]["instances"]))'
}

wait_for_zero() { # NAME
  for _ in $(seq 1 600); do
    [ "$(instances "$1")" = 0 ] && sleep 0.3 && return 0
    sleep 0.1
  done
  echo "coldstart.sh: $1 did not scale to zero" >&2
  tail -20 "$work/server.log" >&2
  exit 1
}

# ttfb_ms HOST: one request through the router; prints the time to first byte in ms
# and fails unless it was a 200.
ttfb_ms() {
  local out
  out=$(curl -s -o /dev/null --max-time 30 -H "Host: $1" -w '%{http_code} %{time_starttransfer}' "http://$router/")
  [ "${out%% *}" = 200 ] || { echo "coldstart.sh: cold request to $1 answered ${out%% *}" >&2; exit 1; }
  python3 -c 'import sys; print(round(float(sys.argv[1]) * 1000, 1))' "${out#* }"
}

cold_series() { # NAME HOST: prints one ms value per run
  local name=$1 host=$2 t
  for i in $(seq 1 "$runs"); do
    wait_for_zero "$name"
    t=$(ttfb_ms "$host")
    echo "  cold request $i: ${t} ms" >&2
    echo "$t"
  done
}

# The app's own start, as the peer: spawn its command, poll until the first byte.
direct_start_ms() { # DIR COMMAND
  python3 - "$@" <<'EOF'
import os, socket, subprocess, sys, time, urllib.request
directory, command = sys.argv[1], sys.argv[2]
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", GREETING="hi")
start = time.monotonic()
proc = subprocess.Popen(["sh", "-c", command], cwd=directory, env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).read(1)
            break
        except OSError:
            time.sleep(0.002)
    print(round((time.monotonic() - start) * 1000, 1))
finally:
    proc.terminate(); proc.wait()
EOF
}

echo "== cold start, process runtime (examples/apps/hello)"
"$ferry" deploy examples/apps/hello >/dev/null 2>&1
"$ferry" scale hello --min 0 --scale-to-zero-grace 1 --stable-window 1 --panic-window 1 >/dev/null
mapfile -t process_times < <(cold_series hello hello.localhost)
process_median=$(bench_median_ms "${process_times[@]}")
direct=()
for _ in $(seq 1 "$runs"); do direct+=("$(direct_start_ms examples/apps/hello 'python3 app.py')"); done
direct_median=$(bench_median_ms "${direct[@]}")
echo "  median: ${process_median} ms; the app started directly: ${direct_median} ms"

docker_median="n/a"
if docker info >/dev/null 2>&1 && grep -q '"docker"' <("$ferry" status --json); then
  echo "== cold start, docker runtime (busybox httpd image)"
  image=$(bench_busybox_httpd_image)
  cmd='echo cold > /www/index.html && exec httpd -f -p "$PORT" -h /www'
  "$ferry" deploy --image "$image" --name web --command "$cmd" >/dev/null 2>&1
  "$ferry" scale web --min 0 --scale-to-zero-grace 1 --stable-window 1 --panic-window 1 >/dev/null
  mapfile -t docker_times < <(cold_series web web.localhost)
  docker_median=$(bench_median_ms "${docker_times[@]}")
  echo "  median: ${docker_median} ms"
else
  echo "== cold start, docker runtime: skipped (no Docker Engine answering)"
fi

echo "== scale-out (examples/apps/slow-peak: 200 ms per request, concurrency 10)"
"$ferry" deploy examples/apps/slow-peak >/dev/null 2>&1
"$ferry" scale slow-peak --min 1 --max 10 --concurrency 10 --stable-window 10 --panic-window 1 >/dev/null
python3 - "$router" "$ferry" <<'EOF'
import json, math, subprocess, sys, threading, time, urllib.request
router, ferry = sys.argv[1], sys.argv[2]
stop = threading.Event()
results = {"ok": 0, "failed": 0}
lock = threading.Lock()

def client():
    while not stop.is_set():
        request = urllib.request.Request(f"http://{router}/?ms=200", headers={"Host": "slow-peak.localhost"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                ok = response.status == 200
        except Exception:
            ok = False
        with lock:
            results["ok" if ok else "failed"] += 1

def ready():
    out = subprocess.run([ferry, "status", "slow-peak", "--json"], capture_output=True, text=True).stdout
    return sum(1 for i in json.loads(out)["runtime"]["instances"] if i["state"] == "ready")

threads = [threading.Thread(target=client, daemon=True) for _ in range(5)]
for t in threads: t.start()
time.sleep(5)
step_clients, per_instance, utilisation = 50, 10, 0.7
needed = math.ceil(step_clients / (per_instance * utilisation))
start = time.monotonic()
more = [threading.Thread(target=client, daemon=True) for _ in range(step_clients - 5)]
for t in more: t.start()
reaction = None
while time.monotonic() - start < 60:
    if ready() >= needed:
        reaction = time.monotonic() - start
        break
    time.sleep(0.1)
time.sleep(2)
stop.set()
for t in threads + more: t.join()
print(f"  step 5 -> 50 clients: {needed} instances ready after "
      + (f"{reaction:.2f} s" if reaction is not None else "more than 60 s (not reached)"))
print(f"  requests: {results['ok']} ok, {results['failed']} failed")
EOF

echo
echo "cold start median of $runs: process ${process_median} ms (goal ≤ 300; the app alone ${direct_median} ms), docker ${docker_median} ms (goal ≤ 1500)"
