#!/usr/bin/env bash
# Switchyard's set-up for this repository: idempotent, unattended. Installs what is missing and nothing else:
#   - the npm dependencies (npm ci), which bring Node 22 as a devDependency;
#   - the system part, scripts/setup-system.sh (also what `switchyard setup` runs for a user): the
#     Pulumi CLI at the SDK's release (a compatible `pulumi` on PATH, else one built from the Go module
#     proxy and cached per version outside the clone), PostgreSQL and HAProxy from Debian's packages,
#     and for this repository's tests and benches strace, xfsprogs and chromium;
#   - the moto server (AWS API stand-in for tests) from PyPI, in a virtualenv in the tool cache.
# Only the package registries are contacted.
set -euo pipefail
# `pulumi version` would otherwise check for a newer release online; nothing here may leave the machine.
export PULUMI_SKIP_UPDATE_CHECK=true

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cache="${SWITCHYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard}"
mkdir -p "$cache"
start=$(date +%s)
say() { echo "setup: $*" >&2; }
fail() { echo "setup: error: $*" >&2; exit 1; }

pulumi_version=$(sed -n 's/.*"@pulumi\/pulumi": "\([0-9.]*\)".*/\1/p' package.json | head -n1)
[ -n "$pulumi_version" ] || fail "cannot read the @pulumi/pulumi version from package.json"

# --- npm dependencies (and Node 22) -------------------------------------------------------------
lock_sum=$(sha256sum package-lock.json | cut -c1-16)
if [ ! -x node_modules/.bin/node ] || [ "$(cat node_modules/.switchyard-lock 2>/dev/null)" != "$lock_sum" ]; then
  say "installing npm dependencies (npm ci)..."
  if ! npm ci --no-audit --no-fund --loglevel=error >"$cache/npm-ci.log" 2>&1; then
    tail -n 20 "$cache/npm-ci.log" >&2
    fail "npm ci failed (is the npm registry reachable?). Full log: $cache/npm-ci.log"
  fi
  echo "$lock_sum" > node_modules/.switchyard-lock
fi
node_version=$(node_modules/.bin/node --version)
case "$node_version" in
  v2[2-9].*|v[3-9][0-9].*) ;;
  *) fail "the project's Node is $node_version, but Node 22 or later is required (devDependency 'node')";;
esac

# --- the system part, shared with an installed package's `switchyard setup` ----------------------
# The Pulumi CLI, PostgreSQL and HAProxy; plus what only this repository's tests and benches use:
# strace (the network test traces the engine), xfsprogs (the clone bench makes an XFS image) and
# chromium (the report's test opens the page in a headless browser).
bash scripts/setup-system.sh --pulumi-version "$pulumi_version" --also strace:strace --also mkfs.xfs:xfsprogs --also chromium:chromium

# --- moto server (AWS API stand-in for tests) -------------------------------------------------------
moto_venv="$cache/moto-5.2.5"
if [ ! -x "$moto_venv/bin/moto_server" ]; then
  command -v python3 >/dev/null 2>&1 || fail "python3 is needed for the moto server"
  say "installing moto[server]==5.2.5 from PyPI into $moto_venv..."
  rm -rf "$moto_venv"
  if ! { python3 -m venv "$moto_venv" && "$moto_venv/bin/pip" install -q --disable-pip-version-check 'moto[server]==5.2.5'; } >"$cache/moto.log" 2>&1; then
    rm -rf "$moto_venv"
    tail -n 20 "$cache/moto.log" >&2
    fail "installing the moto server failed (is PyPI reachable?). Full log: $cache/moto.log"
  fi
fi

say "ready in $(( $(date +%s) - start )) s"
