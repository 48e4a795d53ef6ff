#!/usr/bin/env bash
# Runs `npm test` with one core kept busy by a CPU hog, as CI's 2-core machine often is when other
# work runs beside it: the suite must pass like this (no test may bound wall-clock time tightly).
# Arguments go to `npm test`, e.g. `bash scripts/busy-test.sh packages/core/src/net/retry.test.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."

# A busy loop pinned to the last core where taskset exists, so it takes one whole core's worth
# rather than a share of each; the tests keep the other core and compete for this one.
hog=(node -e 'for (;;) {}')
if command -v taskset >/dev/null 2>&1; then hog=(taskset -c "$(($(nproc) - 1))" "${hog[@]}"); fi
"${hog[@]}" &
hog_pid=$!
# Ends the hog however the tests end; INT and TERM exit through the EXIT trap.
trap 'kill "$hog_pid" 2>/dev/null || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
echo "busy-test: CPU hog running (pid $hog_pid)"

npm test -- "$@"
