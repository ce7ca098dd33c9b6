#!/usr/bin/env python3
"""Measures a bench's target ratios over several code layouts of the same build.

The loops these benches time are a few nanoseconds long; on this machine's cores (AMD Zen 3) their
time depends on where the code lands, because the branch and memory-dependence predictors are
indexed by instruction address. Unchanged code can measure 15% apart in two builds. This script
re-links one bench binary with lld's `--shuffle-sections=.text*=SEED` (the same object code, the
functions in a different order: only the bench itself is re-linked, nothing is recompiled), runs
the benchmarks of each ratio in every layout (each keeps its lowest median of REPEATS runs, which
filters out other tenants of a shared machine), and prints every layout's medians and ratios and the
ratios' median, minimum and maximum over the layouts. Seed 0 is the normal, unshuffled link. It
leaves the bench binary linked in its last layout and criterion's saved results of those benchmarks
from it: run `cargo bench` again before `scripts/bench_table.py`.

Usage: python3 scripts/layout_sweep.py GROUP [LAYOUTS] [SECONDS] [REPEATS]
  GROUP    hook, eventhandler or eventhandler_mt (the ratios of scripts/bench_table.py)
  LAYOUTS  how many layouts (default 8: seed 0 and seven shuffles)
  SECONDS  criterion measurement time per benchmark (default 3)
  REPEATS  runs per layout; each benchmark keeps its lowest median (default 2)
"""
import json
import pathlib
import re
import statistics
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_table import CROSS, RATIOS, SWEPT, medians  # noqa: E402

BENCH = {"hook": "hooks", "eventhandler": "eventhandler", "eventhandler_mt": "eventhandler"}


def link(bench, seed):
    """Re-links the bench binary with the given shuffle seed and returns its path."""
    cmd = ["cargo", "rustc", "--quiet", "--profile", "bench", "--bench", bench,
           "--message-format", "json-render-diagnostics", "--"]
    if seed:
        cmd += ["-C", f"link-arg=-Wl,--shuffle-sections=.text*={seed}"]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"re-linking {bench} with seed {seed} failed (the shuffle needs lld, rustc's default "
                 f"linker on x86_64 Linux):\n{run.stderr}")
    out = run.stdout
    for line in out.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            return msg["executable"]
    sys.exit(f"cargo did not report the {bench} executable")


def measure(binary, ids, seconds, repeats):
    """Each benchmark's (`group/id`) lowest median over `repeats` runs (this machine is shared: a
    slow run is another tenant, not a property of the layout)."""
    pattern = f"^({'|'.join(map(re.escape, ids))})$"
    out = {}
    for _ in range(repeats):
        subprocess.run([binary, "--bench", pattern, "--warm-up-time", "1", "--measurement-time",
                        str(seconds), "--noplot"], check=True, capture_output=True)
        runs = {group: medians(group) for group in {name.split("/", 1)[0] for name in ids}}
        for name in ids:
            group, bench = name.split("/", 1)
            median = runs[group][bench]
            out[name] = min(median, out.get(name, median))
    return out


def ratios_of(group):
    """The group's ratios as (`group/id`, `group/id`, target)."""
    if group in CROSS:
        return [(f"{ga}/{a}", f"{gb}/{b}", target) for ga, a, gb, b, target in CROSS[group]]
    swept = SWEPT.get(group, set())
    return [(f"{group}/{a}", f"{group}/{b}", target) for a, b, target in RATIOS[group]
            if target or (a, b) in swept]


def main():
    group = sys.argv[1] if len(sys.argv) > 1 else "eventhandler"
    layouts = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    seconds = sys.argv[3] if len(sys.argv) > 3 else "3"
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    if group not in BENCH:
        sys.exit(f"unknown group {group!r}: one of {', '.join(BENCH)}")
    ratios = ratios_of(group)
    ids = sorted({name for a, b, _ in ratios for name in (a, b)})
    short = {name: name.split("/", 1)[1] if name.startswith(group + "/") else name for name in ids}
    seen = {f"{short[a]} / {short[b]}": [] for a, b, _ in ratios}
    print("| layout | " + " | ".join(short[name] for name in ids) + " | " + " | ".join(seen) + " |")
    print("|---" * (1 + len(ids) + len(seen)) + "|")
    for seed in range(layouts):
        values = measure(link(BENCH[group], seed), ids, seconds, repeats)
        cells = [f"{values[name]:.2f}" for name in ids]
        for a, b, _ in ratios:
            ratio = values[a] / values[b]
            seen[f"{short[a]} / {short[b]}"].append(ratio)
            cells.append(f"{ratio:.2f}")
        label = "normal link" if seed == 0 else f"shuffle {seed}"
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)
    print()
    print("| ratio | target | median | min | max |")
    print("|---|---|---:|---:|---:|")
    for (name, values), (_, _, target) in zip(seen.items(), ratios):
        print(f"| `{name}` | {target} | {statistics.median(values):.2f} | "
              f"{min(values):.2f} | {max(values):.2f} |")


if __name__ == "__main__":
    main()
