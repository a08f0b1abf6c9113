#!/usr/bin/env bash
# The kill suite (test/kills.test.ts) alone, for the figures in bench/RESULTS.md: SIGKILL of a
# cutover's whole process group at seeded random instants, each followed by resume or revert and the
# consistency checks; prints every kill and the per-phase counts, then its figures as a table
# (bench/kills.ts; to the file BENCH_JSON names, when set). Run from a clone after the set-up.
#
#   bash bench/kills.sh            # a new random seed (printed)
#   bash bench/kills.sh 425896122  # replay a seed
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The project's Node 22 (a devDependency) first, as under `npm run`.
export PATH="$PWD/node_modules/.bin:$PATH"
exec node -r ts-node/register/transpile-only bench/kills.ts "$@"
