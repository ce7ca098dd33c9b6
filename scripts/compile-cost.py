#!/usr/bin/env python3
"""Compile cost of the attribute: one generated crate of N functions, plain, with
`#[tracehook::traceable]` and with `#[tracing::instrument]`; the build of that crate alone
(dependencies built beforehand, CARGO_INCREMENTAL=0, the dev profile) and `cargo check`, each the
median of RUNS runs.

    python3 scripts/compile-cost.py [--functions 1000] [--runs 5]

Work happens in target/compile-cost.
"""

import argparse
import os
import statistics
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
WORK = os.path.join(ROOT, "target", "compile-cost")

VARIANTS = {
    "plain": ("", ""),
    "traceable": ("#[tracehook::traceable]", f'tracehook = {{ path = "{ROOT}" }}'),
    "instrument": ("#[tracing::instrument]",
                   'tracing = { version = "0.1", default-features = false, features = ["std", "attributes"] }'),
}


def source(attribute, functions):
    """Ordinary functions: arguments of a few kinds, loops, early returns, a method per type."""
    out = ["//! Generated.", "#![allow(dead_code, clippy::all)]", "",
           "#[derive(Debug, Clone, Default)]", "pub struct Acc { pub n: u64, pub names: Vec<String> }", ""]
    for i in range(functions):
        kind = i % 4
        if kind == 0:
            out.append(f"""{attribute}
pub fn mix{i}(a: u64, text: &str) -> u64 {{
    let mut x = a ^ {i};
    for byte in text.bytes() {{
        x = x.wrapping_mul(31).wrapping_add(u64::from(byte));
    }}
    x
}}""")
        elif kind == 1:
            out.append(f"""{attribute}
pub fn parse{i}(input: &str) -> Result<u64, String> {{
    let value: u64 = input.trim().parse().map_err(|e| format!("{{e}} at {i}"))?;
    if value > {i} {{
        return Err("too large".to_owned());
    }}
    Ok(value + 1)
}}""")
        elif kind == 2:
            out.append(f"""impl Acc {{
    {attribute}
    pub fn push{i}(&mut self, name: &str) -> usize {{
        self.n += {i};
        self.names.push(name.to_owned());
        self.names.len()
    }}
}}""")
        else:
            out.append(f"""{attribute}
pub fn pick{i}(items: &[u64], limit: usize) -> Option<u64> {{
    items.iter().copied().filter(|v| v % 3 == {i} % 3).take(limit).max()
}}""")
    return "\n\n".join(out) + "\n"


def prepare(name, attribute, dependency, functions):
    crate = os.path.join(WORK, name)
    os.makedirs(os.path.join(crate, "src"), exist_ok=True)
    with open(os.path.join(crate, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "cost-{name}"\nversion = "0.0.0"\nedition = "2024"\n\n'
                f'[dependencies]\n{dependency}\n\n[workspace]\n')
    with open(os.path.join(crate, "src", "lib.rs"), "w") as f:
        f.write(source(attribute, functions))
    return crate


def timed(crate, command):
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(WORK, "target"), CARGO_INCREMENTAL="0")
    subprocess.run(["cargo", command, "--quiet"], cwd=crate, env=env, check=True)
    os.utime(os.path.join(crate, "src", "lib.rs"))
    start = time.monotonic()
    subprocess.run(["cargo", command, "--quiet"], cwd=crate, env=env, check=True)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--functions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    crates = {name: prepare(name, attr, dep, args.functions) for name, (attr, dep) in VARIANTS.items()}
    results = {}
    for command in ("build", "check"):
        samples = {name: [] for name in crates}
        # Interleaved, so a slow stretch of the machine touches every variant alike.
        for _ in range(args.runs):
            for name, crate in crates.items():
                samples[name].append(timed(crate, command))
        results[command] = {name: statistics.median(s) for name, s in samples.items()}
    print(f"{args.functions} functions, median of {args.runs} runs (dev profile, the crate alone):")
    print()
    print("| | plain | #[traceable] | #[instrument] | traceable / plain | instrument / plain |")
    print("|---|---:|---:|---:|---:|---:|")
    for command, r in results.items():
        print(f"| cargo {command} | {r['plain']:.2f} s | {r['traceable']:.2f} s | {r['instrument']:.2f} s | "
              f"{r['traceable'] / r['plain']:.2f} | {r['instrument'] / r['plain']:.2f} |")


if __name__ == "__main__":
    main()
