#!/usr/bin/env bash
# Clone-speed bench: see bench/clone.ts. Run from the project root after the set-up.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec node -r ts-node/register/transpile-only bench/clone.ts "$@"
