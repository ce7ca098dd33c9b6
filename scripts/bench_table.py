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
        ("contract_floor_on", "handwritten_on", ""),
        ("traceable_on", "contract_floor_on", ""),
    ],
    "tracer": [
        ("function_graph_call", "fastrace_span", "<= 1.0"),
        ("function_call", "fastrace_span", ""),
        ("function_graph_call", "plain", ""),
    ],
    "eventhandler": [
        ("direct_invoke_8", "closure_loop_8", "<= 1.3"),
        ("invoke_8", "closure_loop_8", "<= 1.5"),
        ("mutex_vec_8", "closure_loop_8", ""),
        ("direct_invoke_1", "closure_loop_1", ""),
        ("invoke_1", "closure_loop_1", ""),
    ],
}

# Ratios without a target that scripts/layout_sweep.py measures too: the floor under the hook.
SWEPT = {
    "hook": {("contract_floor_on", "handwritten_on"), ("traceable_on", "contract_floor_on")},
}

# Ratios across groups: (group_a, id_a, group_b, id_b, target).
CROSS = {
    "eventhandler_mt": [
        ("eventhandler_mt", "direct_invoke_8_x2", "eventhandler", "direct_invoke_8", "<= 1.2"),
        ("eventhandler_mt", "mutex_vec_8_x2", "eventhandler_mt", "direct_invoke_8_x2", ">= 3"),
        ("eventhandler_mt", "closure_loop_8_x2", "eventhandler", "closure_loop_8", ""),
        ("eventhandler_mt", "direct_invoke_8_x2", "eventhandler_mt", "closure_loop_8_x2", ""),
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
    rows = [
        (a, values[a], b, values[b], target)
        for a, b, target in RATIOS.get(group, [])
        if a in values and b in values
    ]
    for ga, a, gb, b, target in CROSS.get(group, []):
        va, vb = medians(ga), medians(gb)
        if a in va and b in vb:
            rows.append((a, va[a], b, vb[b], target))
    if rows:
        print()
        print("| ratio | measured | target |")
        print("|---|---:|---|")
        for a, va, b, vb, target in rows:
            print(f"| `{a} / {b}` | {va / vb:.2f} | {target} |")


if __name__ == "__main__":
    main()
