#!/usr/bin/env bash
# The kill suite (test/kills.test.ts) alone, for the figures in bench/RESULTS.md: SIGKILL of a
# cutover's whole process group at seeded random instants, each followed by resume or revert and the
# consistency checks; prints every kill and the per-phase counts. Run from a clone after the set-up.
#
#   bash bench/kills.sh            # a new random seed (printed)
#   bash bench/kills.sh 425896122  # replay a seed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ $# -gt 0 ]; then
    export KILL_SEED="$1"
fi
exec npx mocha test/kills.test.ts
