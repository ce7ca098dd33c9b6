#!/usr/bin/env bash
# Runs the unregister-guarantee stress test under valgrind's memcheck: any invalid read or write (a
# callback or snapshot used after it was freed) or definite leak fails the run.
#
#   bash scripts/valgrind-stress.sh [rounds] [test ...]
#       default: 200 rounds, tests `stress` (ftrace) and `eventhandler_stress`
#
# valgrind serialises threads; --fair-sched=yes lets the writer waiting for a grace period run soon
# after a reader leaves its section. valgrind passes membarrier(2) through, so this runs the membarrier
# protocol (the fence protocol runs natively: TRACEHOOK_NO_MEMBARRIER=1 cargo test --test stress).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-200}"
shift || true
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(stress eventhandler_stress)
for test in "${tests[@]}"; do
  bin=$(cargo test --test "$test" --no-run --message-format=json 2>/dev/null | TEST="$test" python3 -c '
import json, os, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["name"] == os.environ["TEST"]:
        print(message["executable"])
')
  [ -n "$bin" ] || { echo "valgrind-stress: could not build test $test" >&2; exit 1; }
  echo "valgrind-stress: $test ($rounds rounds)"
  STRESS_ROUNDS="$rounds" valgrind --tool=memcheck --fair-sched=yes --smc-check=all --error-exitcode=1 \
    --leak-check=full --errors-for-leak-kinds=definite "$bin" --test-threads=1
done
