#!/usr/bin/env python3
"""Compares ferry's inventory (ferry sbom -f json) with Syft's (syft -o json).

Usage: scan_compat.py compare NAME FERRY_JSON SYFT_JSON
       scan_compat.py summary RESULTS_DIR

Packages are compared as (name, version) sets per package type. Syft types ferry
does not catalogue (e.g. Syft's content-based `binary` classifier) are listed apart
and left out of the agreement.
"""

import json
import os
import sys
from collections import defaultdict

# Syft artifact type -> ferry package_type (ferry names its types as Syft does).
FERRY_TYPES = {"deb", "apk", "rpm", "python", "npm", "go-module", "rust-crate", "java-archive"}


def ferry_sets(path):
    with open(path) as f:
        doc = json.load(f)
    sets = defaultdict(set)
    for p in doc.get("packages", []):
        sets[p["package_type"]].add((p["name"], p["version"]))
    return sets


def syft_sets(path):
    with open(path) as f:
        doc = json.load(f)
    sets = defaultdict(set)
    for a in doc.get("artifacts", []):
        version = a.get("version", "")
        # Syft writes UNKNOWN where no version is known; ferry leaves it empty.
        if version == "UNKNOWN":
            version = ""
        sets[a.get("type", "?")].add((a.get("name", ""), version))
    return sets


def compare(name, ferry_json, syft_json, out_dir):
    ferry = ferry_sets(ferry_json)
    syft = syft_sets(syft_json)
    result = {"name": name, "types": {}, "syft_only_types": {}}
    print(f"== {name}")
    for t in sorted(set(ferry) | set(syft)):
        if t not in FERRY_TYPES:
            result["syft_only_types"][t] = len(syft[t])
            print(f"   {t:<13} syft-only type, not compared: {len(syft[t])} packages")
            continue
        f, s = ferry[t], syft[t]
        both = f & s
        union = f | s
        agreement = len(both) / len(union) if union else 1.0
        result["types"][t] = {
            "ferry": len(f),
            "syft": len(s),
            "both": len(both),
            "union": len(union),
            "only_ferry": sorted(f - s),
            "only_syft": sorted(s - f),
        }
        print(f"   {t:<13} ferry {len(f):>4}  syft {len(s):>4}  both {len(both):>4}  agreement {agreement:6.1%}")
        for n, v in sorted(f - s)[:15]:
            print(f"      only ferry: {n} {v}")
        for n, v in sorted(s - f)[:15]:
            print(f"      only syft:  {n} {v}")
        extra = len(f - s) + len(s - f) - min(len(f - s), 15) - min(len(s - f), 15)
        if extra > 0:
            print(f"      … and {extra} more differences")
    with open(os.path.join(out_dir, f"{name}.compare.json"), "w") as f:
        json.dump(result, f, indent=1)


def summary(out_dir):
    both = union = 0
    per_type = defaultdict(lambda: [0, 0])
    for entry in sorted(os.listdir(out_dir)):
        if not entry.endswith(".compare.json"):
            continue
        with open(os.path.join(out_dir, entry)) as f:
            r = json.load(f)
        for t, c in r["types"].items():
            both += c["both"]
            union += c["union"]
            per_type[t][0] += c["both"]
            per_type[t][1] += c["union"]
    print("== agreement by type (all images)")
    for t, (b, u) in sorted(per_type.items()):
        exact = "identical" if b == u else "differs"
        print(f"   {t:<13} {b:>5}/{u:<5} {b / u if u else 1:6.1%}  {exact}")
    overall = both / union if union else 1.0
    print(f"== overall agreement: {both}/{union} = {overall:.1%} (goal >= 98%)")
    timings = []
    path = os.path.join(out_dir, "timings.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                name, tool, seconds = line.split("\t")
                timings.append((name, tool, float(seconds)))
    if timings:
        print("== time (median of runs, seconds)")
        names = sorted({n for n, _, _ in timings})
        total = defaultdict(float)
        for n in names:
            t = {tool: s for nn, tool, s in timings if nn == n}
            for tool, s in t.items():
                total[tool] += s
            ratio = t.get("syft", 0) / t["ferry"] if t.get("ferry") else float("nan")
            print(f"   {n:<12} syft {t.get('syft', 0):7.3f}  ferry {t.get('ferry', 0):7.3f}  syft/ferry {ratio:5.1f}x")
        ratio = total["syft"] / total["ferry"] if total["ferry"] else float("nan")
        print(f"   {'all':<12} syft {total['syft']:7.3f}  ferry {total['ferry']:7.3f}  syft/ferry {ratio:5.1f}x (goal >= 3x)")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "compare" and len(sys.argv) == 6:
        compare(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        summary(sys.argv[2])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
