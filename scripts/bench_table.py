#!/usr/bin/env python3
"""Prints criterion medians of one group as a Markdown table, with the ratios the issues target.

Usage: python3 scripts/bench_table.py GROUP   (after `cargo bench --bench ...`)
"""
import json
import pathlib
import sys

RATIOS = {
    "hook": [
        ("traceable_off", "plain", "<= 1.05"),
        ("traceable_on", "handwritten_on", "<= 1.5"),
        ("traceable_on", "tracing_instrument_on", "<= 0.3"),
        ("traceable_off", "tracing_instrument_off", ""),
        ("traceable_on", "fastrace_on", ""),
    ],
}


def medians(group):
    root = pathlib.Path("target/criterion") / group
    out = {}
    for estimates in sorted(root.glob("*/new/estimates.json")):
        data = json.loads(estimates.read_text())
        out[estimates.parent.parent.name] = data["median"]["point_estimate"]
    return out


def main():
    group = sys.argv[1] if len(sys.argv) > 1 else "hook"
    values = medians(group)
    if not values:
        sys.exit(f"no criterion results for group {group!r}: run cargo bench first")
    print(f"| `{group}` benchmark | median |")
    print("|---|---:|")
    for name, ns in values.items():
        print(f"| `{name}` | {ns:.2f} ns |")
    rows = [r for r in RATIOS.get(group, []) if r[0] in values and r[1] in values]
    if rows:
        print()
        print("| ratio | measured | target |")
        print("|---|---:|---|")
        for a, b, target in rows:
            print(f"| `{a} / {b}` | {values[a] / values[b]:.2f} | {target} |")


if __name__ == "__main__":
    main()
