#!/usr/bin/env bash
# Runs the unregister-guarantee stress test under valgrind's memcheck: any invalid read or write (a
# callback or snapshot used after it was freed) or definite leak fails the run.
#
#   bash scripts/valgrind-stress.sh [rounds]     (default 200 rounds per controller)
#
# valgrind serialises threads; --fair-sched=yes lets the writer waiting for a grace period run soon
# after a reader leaves its section. Membarrier is not available under valgrind, so this exercises the
# fence protocol.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-200}"
bin=$(cargo test --test stress --no-run --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["name"] == "stress":
        print(message["executable"])
')
[ -n "$bin" ] || { echo "valgrind-stress: could not build the stress test" >&2; exit 1; }
STRESS_ROUNDS="$rounds" valgrind --tool=memcheck --fair-sched=yes --error-exitcode=1 \
  --leak-check=full --errors-for-leak-kinds=definite "$bin" --test-threads=1
