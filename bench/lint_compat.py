#!/usr/bin/env python3
"""Compares Hadolint's and ferry's JSON findings collected by bench/lint-compat.sh.

A finding is the triple (file, line, code). Agreement is |both| / |union|, overall
and per rule. Also prints the disagreements, whether one invocation over all files
gives the same findings as one invocation per file, which of the rules asked for
in issue 3 the corpus triggers in Hadolint, and the timings.

Exit status: 0 when the comparison ran (whatever the agreement), 1 on a harness
error (missing inputs, Hadolint output that is not JSON).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

# The rules issue 3 asks for, in Hadolint's numbering.
REQUIRED_RULES = (
    ["DL1001"]
    + [f"DL{n}" for n in range(3000, 3005)]
    + [f"DL{n}" for n in range(3006, 3017)]
    + [f"DL{n}" for n in range(3018, 3031)]
    + [f"DL{n}" for n in range(3032, 3039)]
    + [f"DL{n}" for n in range(3040, 3068)]
    + ["DL4000", "DL4001"]
    + [f"DL{n}" for n in range(4003, 4007)]
)

# Rules Hadolint never reports with its default configuration, and why.
NEEDS_CONFIG = {
    "DL1001": "severity 'ignore' by default (enable with override)",
    "DL3026": "needs trustedRegistries",
    "DL3049": "needs label-schema",
    "DL3050": "needs label-schema and strict-labels",
    "DL3051": "needs label-schema",
    "DL3052": "needs label-schema (url)",
    "DL3053": "needs label-schema (rfc3339)",
    "DL3054": "needs label-schema (spdx)",
    "DL3055": "needs label-schema (hash)",
    "DL3056": "needs label-schema (semver)",
    "DL3057": "severity 'ignore' by default (enable with override)",
    "DL3058": "needs label-schema (email)",
}

MIN_FILES_PER_RULE = 2

Finding = tuple[str, int, str]  # (file, line, code)


class HarnessError(Exception):
    """The comparison cannot be trusted: an input is missing or malformed."""


@dataclass
class ToolRun:
    """What one linter reported over the corpus."""

    name: str
    findings: set[Finding]
    messages: dict[Finding, str]
    files_with_json: int
    files_without_json: list[tuple[str, str, str]]  # (file, exit code, first stderr line)
    file_name_mismatches: int


def parse_json_array(text: str, origin: str) -> list[dict]:
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError(f"{origin}: expected a JSON array, got {type(data).__name__}")
    for item in data:
        if not isinstance(item, dict) or not {"code", "line", "file"} <= item.keys():
            raise ValueError(f"{origin}: array item without code/line/file: {item!r:.200}")
    return data


def normalise_file(name: str, corpus: Path | None) -> str:
    if corpus is not None and os.path.isabs(name):
        try:
            name = os.path.relpath(name, corpus)
        except ValueError:
            pass
    return name[2:] if name.startswith("./") else name


def first_line(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except FileNotFoundError:
        return ""
    return text.splitlines()[0][:160] if text else ""


def load_per_file(work: Path, name: str, files: list[str], strict: bool) -> ToolRun:
    """Reads <work>/<name>/<i>.json written by one invocation per corpus file.

    `strict` makes unparseable output a harness error (Hadolint); for ferry it is
    recorded and the file counts as having no findings, so an unfinished linter
    still yields a report.
    """
    findings: set[Finding] = set()
    messages: dict[Finding, str] = {}
    without: list[tuple[str, str, str]] = []
    mismatches = 0
    with_json = 0
    for i, file_name in enumerate(files):
        out = work / name / f"{i}.json"
        err = work / name / f"{i}.err"
        rc_path = work / name / f"{i}.rc"
        rc = rc_path.read_text().strip() if rc_path.exists() else "0"
        if not out.exists():
            raise HarnessError(f"{out} missing: the {name} run did not happen")
        text = out.read_text(errors="replace")
        try:
            items = parse_json_array(text, f"{name} on {file_name}")
        except (ValueError, json.JSONDecodeError) as exc:
            if strict:
                raise HarnessError(
                    f"{name} -f json {file_name}: output is not a findings array "
                    f"(exit {rc}): {exc}; stderr: {first_line(err)}"
                ) from exc
            without.append((file_name, rc, first_line(err) or first_line(out)))
            continue
        with_json += 1
        for item in items:
            if normalise_file(str(item["file"]), None) != file_name:
                mismatches += 1
            key = (file_name, int(item["line"]), str(item["code"]))
            findings.add(key)
            messages.setdefault(key, one_line(str(item.get("message", ""))))
    return ToolRun(name, findings, messages, with_json, without, mismatches)


def load_all_at_once(path: Path, corpus: Path, strict: bool) -> tuple[set[Finding] | None, str]:
    """Reads the output of one invocation over every corpus file."""
    text = path.read_text(errors="replace") if path.exists() else ""
    try:
        items = parse_json_array(text, str(path))
    except (ValueError, json.JSONDecodeError) as exc:
        if strict:
            raise HarnessError(f"{path}: not a findings array: {exc}") from exc
        return None, first_line(path.with_suffix(".err")) or "no JSON on stdout"
    found = {(normalise_file(str(i["file"]), corpus), int(i["line"]), str(i["code"])) for i in items}
    return found, ""


def one_line(text: str) -> str:
    """Hadolint's DL1000 messages span several lines; lists need one per finding."""
    return " ".join(text.split())


def pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "n/a"


def agreement(h: set[Finding], f: set[Finding]) -> tuple[int, int, str]:
    both = len(h & f)
    union = len(h | f)
    return both, union, pct(both, union)


def is_dl(code: str) -> bool:
    return code.startswith("DL")


def timing_means(timing: dict) -> dict[str, tuple[float, float, int]]:
    """Returns name -> (mean seconds, stddev, runs) from either timing format."""
    out = {}
    for name, value in timing.items():
        if not isinstance(value, dict):
            continue
        if "mean" in value:
            out[name] = (float(value["mean"]), float(value.get("stddev") or 0.0), int(value.get("runs", 0)))
        elif value.get("samples"):
            samples = [float(s) for s in value["samples"]]
            sd = statistics.stdev(samples) if len(samples) > 1 else 0.0
            out[name] = (statistics.mean(samples), sd, len(samples))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="directory written by lint-compat.sh")
    parser.add_argument("--files", type=Path, required=True, help="corpus file list, one per line")
    parser.add_argument("--timing", type=Path, help="timing JSON written by lint-compat.sh")
    parser.add_argument("--corpus", type=Path, default=Path.cwd(), help="corpus directory")
    parser.add_argument("--markdown", type=Path, help="also write the disagreement lists here")
    parser.add_argument("--markdown-append", action="store_true", help="append to --markdown")
    parser.add_argument("--title", default="default settings", help="name of this pass")
    parser.add_argument("--summary-out", type=Path, help="append the summary lines to this file")
    parser.add_argument(
        "--coverage",
        choices=("all", "needs-config"),
        default="all",
        help="which issue rules the coverage section counts",
    )
    args = parser.parse_args()

    files = [line for line in args.files.read_text().splitlines() if line]
    if not files:
        raise HarnessError(f"{args.files}: empty file list")

    hadolint = load_per_file(args.work, "hadolint", files, strict=True)
    ferry = load_per_file(args.work, "ferry", files, strict=False)
    h_all, _ = load_all_at_once(args.work / "hadolint-all.json", args.corpus, strict=True)
    f_all, f_all_problem = load_all_at_once(args.work / "ferry-all.json", args.corpus, strict=False)
    timing = json.loads(args.timing.read_text()) if args.timing and args.timing.exists() else {}

    H, F = hadolint.findings, ferry.findings
    H_dl = {x for x in H if is_dl(x[2])}
    F_dl = {x for x in F if is_dl(x[2])}
    lines: list[str] = []
    say = lines.append

    say(f"###### {args.title} ######")
    say(f"corpus: {len(files)} files")
    say(f"hadolint: {len(H)} findings ({len(H_dl)} DL) from {hadolint.files_with_json} files")
    say(f"ferry:    {len(F)} findings ({len(F_dl)} DL) from {ferry.files_with_json} files")
    if ferry.files_without_json:
        rcs = Counter(rc for _, rc, _ in ferry.files_without_json)
        sample = ferry.files_without_json[0]
        say(
            f"ferry printed no findings array for {len(ferry.files_without_json)} files "
            f"(exit codes {dict(rcs)}); e.g. {sample[0]}: {sample[2]!r}"
        )
    for run in (hadolint, ferry):
        if run.file_name_mismatches:
            say(f"warning: {run.name} named a different file than it was given in {run.file_name_mismatches} findings")

    # --- agreement ---
    both_dl, union_dl, pct_dl = agreement(H_dl, F_dl)
    both_all, union_all, pct_all = agreement(H, F)
    say("")
    say("== Agreement (|both| / |union| of (file, line, code)) ==")
    say(f"DL rules:            {pct_dl:>6}  ({both_dl} / {union_dl})")
    say(f"all codes incl. SC:  {pct_all:>6}  ({both_all} / {union_all})")
    h_parse_fail = {x[0] for x in H if x[2] == "DL1000"} - {x[0] for x in F if x[2] == "DL1000"}
    if h_parse_fail and ferry.files_with_json:
        keep = lambda s: {x for x in s if x[0] not in h_parse_fail}  # noqa: E731
        b, u, p = agreement(keep(H_dl), keep(F_dl))
        say(
            f"DL rules, without the {len(h_parse_fail)} files only Hadolint fails to parse: "
            f"{p} ({b} / {u})"
        )

    codes = sorted({x[2] for x in H | F})
    per_h = Counter(x[2] for x in H)
    per_f = Counter(x[2] for x in F)
    per_both = Counter(x[2] for x in H & F)
    say("")
    say("== Per rule ==")
    say(f"{'code':<8} {'hadolint':>8} {'ferry':>6} {'both':>5} {'agree':>7}")
    for code in codes:
        union = per_h[code] + per_f[code] - per_both[code]
        say(f"{code:<8} {per_h[code]:>8} {per_f[code]:>6} {per_both[code]:>5} {pct(per_both[code], union):>7}")

    # --- disagreements ---
    only_h = sorted(H - F)
    only_f = sorted(F - H)
    say("")
    say(f"== Only Hadolint ({len(only_h)}) ==")
    for key in only_h:
        say(f"{key[0]}:{key[1]} {key[2]} {hadolint.messages.get(key, '')[:100]}")
    say("")
    say(f"== Only ferry ({len(only_f)}) ==")
    for key in only_f:
        say(f"{key[0]}:{key[1]} {key[2]} {ferry.messages.get(key, '')[:100]}")

    # --- one invocation vs one per file ---
    say("")
    say("== One invocation for all files vs one per file ==")
    for name, per_file, together, problem in (
        ("hadolint", H, h_all, ""),
        ("ferry", F, f_all, f_all_problem),
    ):
        if together is None:
            say(f"{name}: no findings array from the all-files run ({problem})")
            continue
        missing, extra = per_file - together, together - per_file
        if not missing and not extra:
            say(f"{name}: same {len(together)} findings")
        else:
            say(f"{name}: {len(missing)} findings only per file, {len(extra)} only in the all-files run")
            for key in sorted(missing)[:10]:
                say(f"  only per file: {key[0]}:{key[1]} {key[2]}")
            for key in sorted(extra)[:10]:
                say(f"  only all-files: {key[0]}:{key[1]} {key[2]}")

    # --- rule coverage ---
    files_per_rule: dict[str, set[str]] = defaultdict(set)
    for file_name, _, code in H:
        files_per_rule[code].add(file_name)
    rules = REQUIRED_RULES if args.coverage == "all" else [r for r in REQUIRED_RULES if r in NEEDS_CONFIG]
    covered = [r for r in rules if len(files_per_rule[r]) >= MIN_FILES_PER_RULE]
    thin = [r for r in rules if 0 < len(files_per_rule[r]) < MIN_FILES_PER_RULE]
    absent = [r for r in rules if not files_per_rule[r]]
    default_rules = [r for r in rules if r not in NEEDS_CONFIG]
    default_covered = [r for r in default_rules if len(files_per_rule[r]) >= MIN_FILES_PER_RULE]
    say("")
    say(f"== Rule coverage: files in which Hadolint reports each of these {len(rules)} issue rules ==")
    row = []
    for rule in rules:
        row.append(f"{rule}:{len(files_per_rule[rule])}")
        if len(row) == 8:
            say("  ".join(row))
            row = []
    if row:
        say("  ".join(row))
    if args.coverage == "all":
        say(
            f"triggered in >= {MIN_FILES_PER_RULE} files: {len(covered)}/{len(rules)} "
            f"(of the {len(default_rules)} that default settings can report: {len(default_covered)})"
        )
    else:
        say(f"triggered in >= {MIN_FILES_PER_RULE} files: {len(covered)}/{len(rules)}")
    if thin:
        say(f"triggered in only one file: {', '.join(thin)}")
    for rule in absent:
        reason = NEEDS_CONFIG.get(rule, "not triggered by any corpus file") if args.coverage == "all" else "-"
        say(f"not triggered: {rule} ({reason})")

    # --- timing ---
    means = timing_means(timing)
    ratios: dict[str, float] = {}
    if means:
        say("")
        say(f"== Wall time over the corpus ({timing.get('tool', '?')}) ==")
        for mode, label in (("each", "one invocation per file"), ("all", "one invocation for all files")):
            h, f = means.get(f"hadolint-{mode}"), means.get(f"ferry-{mode}")
            if not h or not f:
                continue
            ratios[mode] = h[0] / f[0] if f[0] > 0 else float("inf")
            say(
                f"{label:<30} hadolint {h[0]:8.3f}s ±{h[1]:.3f}  ferry {f[0]:8.3f}s ±{f[1]:.3f}  "
                f"hadolint/ferry {ratios[mode]:6.1f}x  ({h[2]} runs)"
            )
        h, standalone = means.get("hadolint-each"), means.get("ferry-lint-each")
        if h and standalone:
            ratios["standalone"] = h[0] / standalone[0] if standalone[0] > 0 else float("inf")
            say(
                f"{'per file, ferry-lint binary':<30} hadolint {h[0]:8.3f}s ±{h[1]:.3f}  "
                f"ferry-lint {standalone[0]:5.3f}s ±{standalone[1]:.3f}  "
                f"hadolint/ferry {ratios['standalone']:6.1f}x  ({h[2]} runs)"
            )
        spawn, h, f = means.get("spawn-each"), means.get("hadolint-each"), means.get("ferry-each")
        if spawn and h and f:
            h_net, f_net = h[0] - spawn[0], f[0] - spawn[0]
            ratio = f"{h_net / f_net:.1f}x" if f_net > 0 else "n/a (within noise)"
            say(
                f"{'per file, minus process spawn':<30} hadolint {h_net:8.3f}s         ferry {f_net:8.3f}s         "
                f"hadolint/ferry {ratio:>6}  (spawning `true` per file: {spawn[0]:.3f}s)"
            )
        if not F:
            say("(ferry reported nothing, so its times do not measure linting yet)")

    # --- summary ---
    summary = [
        f"[{args.title}] {len(files)} files",
        f"  agreement on DL rules: {pct_dl} ({both_dl}/{union_dl}); incl. SC: {pct_all} ({both_all}/{union_all})",
        f"  disagreements: {len(only_h)} only Hadolint, {len(only_f)} only ferry",
        f"  rule coverage: {len(covered)}/{len(rules)} issue rules triggered by Hadolint in >= {MIN_FILES_PER_RULE} files"
        + (f" ({len(absent)} not triggered, {len(NEEDS_CONFIG)} of them need non-default settings)"
           if args.coverage == "all" else ""),
    ]
    if ratios:
        mode_names = {"each": "per file", "all": "all files at once", "standalone": "per file with ferry-lint"}
        summary.append("  speed hadolint/ferry: " + ", ".join(
            f"{mode_names[m]} {r:.1f}x" for m, r in ratios.items()))
    if not ferry.files_with_json:
        summary.append("  ferry produced no JSON findings (not implemented yet?)")
    say("")
    say("== Summary ==")
    lines.extend(summary)
    print("\n".join(lines))

    if args.summary_out:
        with args.summary_out.open("a") as handle:
            handle.write("\n".join(summary) + "\n")
    if args.markdown:
        write_markdown(args.markdown, args.markdown_append, args.title, files, hadolint, ferry, only_h, only_f, codes, per_h, per_f, per_both,
                       (both_dl, union_dl, pct_dl), (both_all, union_all, pct_all), means, ratios)
    return 0


def write_markdown(path, append, title, files, hadolint, ferry, only_h, only_f, codes, per_h, per_f, per_both,
                   dl, allc, means, ratios) -> None:
    out = []
    add = out.append
    add(f"### {title[:1].upper()}{title[1:]}")
    add("")
    add(f"Measured {dt.date.today().isoformat()} over {len(files)} files "
        f"(Hadolint {len(hadolint.findings)} findings, ferry {len(ferry.findings)}).")
    add("")
    add(f"- Agreement on DL rules: **{dl[2]}** ({dl[0]} / {dl[1]})")
    add(f"- Agreement on all codes, SC included: **{allc[2]}** ({allc[0]} / {allc[1]})")
    for mode, label in (("each", "one invocation per file"), ("all", "one invocation for all files")):
        if mode in ratios:
            h, f = means[f"hadolint-{mode}"], means[f"ferry-{mode}"]
            add(f"- Wall time, {label}: Hadolint {h[0]:.3f} s, ferry {f[0]:.3f} s: **{ratios[mode]:.1f}×**")
    if "standalone" in ratios:
        h, f = means["hadolint-each"], means["ferry-lint-each"]
        add(f"- Wall time, one invocation per file of the `ferry-lint` binary: Hadolint {h[0]:.3f} s, "
            f"ferry-lint {f[0]:.3f} s: **{ratios['standalone']:.1f}×**")
    spawn = means.get("spawn-each")
    if spawn and "each" in ratios:
        h_net, f_net = means["hadolint-each"][0] - spawn[0], means["ferry-each"][0] - spawn[0]
        if f_net > 0:
            add(f"- The same minus the cost of starting a no-op program per file ({spawn[0]:.3f} s): "
                f"Hadolint {h_net:.3f} s, ferry {f_net:.3f} s: **{h_net / f_net:.1f}×**")
    add("")
    add("| code | Hadolint | ferry | both | agreement |")
    add("|---|---:|---:|---:|---:|")
    for code in codes:
        union = per_h[code] + per_f[code] - per_both[code]
        if per_both[code] != union:
            add(f"| {code} | {per_h[code]} | {per_f[code]} | {per_both[code]} | {pct(per_both[code], union)} |")
    for title, items, run in (("Only Hadolint", only_h, hadolint), ("Only ferry", only_f, ferry)):
        add("")
        add(f"#### {title} ({len(items)})")
        add("")
        for key in items:
            add(f"- `{key[0]}:{key[1]}` {key[2]} {run.messages.get(key, '')[:100]}")
    with Path(path).open("a" if append else "w") as handle:
        if append:
            handle.write("\n")
        handle.write("\n".join(out) + "\n")


if __name__ == "__main__":
    try:
        sys.exit(main())
    except HarnessError as exc:
        print(f"lint_compat: error: {exc}", file=sys.stderr)
        sys.exit(1)
