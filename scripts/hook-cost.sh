#!/usr/bin/env bash
# Instructions per call of each hook case (examples/hook_cost.rs), counted by callgrind: repeatable on a
# shared machine where timings are not. Usage: bash scripts/hook-cost.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
cargo build --quiet --release --example hook_cost
bin=target/release/examples/hook_cost
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for case in plain traceable_off handwritten_on contract_floor_on traceable_on; do
  valgrind --tool=callgrind --smc-check=all --callgrind-out-file="$out/$case" \
    --toggle-collect="*cost_${case}*" "$bin" "$n" >/dev/null 2>&1
  total=$(grep -E '^summary:|^totals:' "$out/$case" | head -1 | awk '{print $2}')
  printf '%-16s %8.1f instructions per call\n' "$case" "$(echo "$total / $n" | bc -l)"
done
