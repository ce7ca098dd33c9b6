#!/usr/bin/env bash
# examples/hook_interleaved.rs over several code layouts of its binary: the normal link and
# lld --shuffle-sections seeds 1..LAYOUTS-1 (only the example is re-linked), then each figure's
# median, minimum and maximum over the layouts. Usage: bash scripts/interleaved_sweep.sh [LAYOUTS] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
layouts=${1:-10}
rounds=${2:-200}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for seed in $(seq 0 $((layouts - 1))); do
  args=()
  if [ "$seed" != 0 ]; then args=(-C "link-arg=-Wl,--shuffle-sections=.text*=$seed"); fi
  cargo rustc --quiet --release --example hook_interleaved -- "${args[@]}"
  target/release/examples/hook_interleaved "$rounds" | tr '\n' ';' >>"$out"
  echo >>"$out"
done
python3 - "$out" <<'PY'
import re, statistics, sys
rows = []
for line in open(sys.argv[1]):
    rows.append({m.group(1): float(m.group(2))
                 for m in re.finditer(r'([a-z_]+(?: / [a-z_]+)?)\s+([\d.]+)', line)})
print("| figure | median | min | max | each layout |")
print("|---|---:|---:|---:|---|")
for key in rows[0]:
    values = [row[key] for row in rows]
    print(f"| `{key}` | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} | "
          + " ".join(f"{v:.2f}" for v in values) + " |")
PY
