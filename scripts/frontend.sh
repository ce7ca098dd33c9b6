#!/usr/bin/env bash
# The hook call's shapes as assembly with controlled alignment (scripts/frontend/gen.py), timed
# interleaved in cycles per call. Usage: bash scripts/frontend.sh [CASE-PREFIX...] (ROUNDS=N to set
# the rounds, default 1000).
set -euo pipefail
cd "$(dirname "$0")/frontend"
python3 gen.py
cargo run --quiet --release -- "$@"
