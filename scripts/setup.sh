#!/usr/bin/env bash
# Switchyard set-up: idempotent, unattended. Installs what is missing and nothing else:
#   - the npm dependencies (npm ci), which bring Node 22 as a devDependency;
#   - the Pulumi CLI at the SDK's release: a compatible `pulumi` on PATH, else one built from the Go
#     module proxy and cached per version outside the clone;
#   - PostgreSQL, HAProxy and strace (the network test traces the engine) from Debian's packages;
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

# --- Pulumi CLI -----------------------------------------------------------------------------------
want="v$pulumi_version"
cli_dir=""
if [ -n "${SWITCHYARD_PULUMI_DIR:-}" ] && [ -x "$SWITCHYARD_PULUMI_DIR/pulumi" ]; then
  cli_dir="$SWITCHYARD_PULUMI_DIR"
elif command -v pulumi >/dev/null 2>&1; then
  have=$(pulumi version 2>/dev/null || true)
  # compatible: same major, minor at least the SDK's
  if [ -n "$have" ] && node_modules/.bin/node -e '
      const [a,b]=[process.argv[1],process.argv[2]].map(v=>v.replace(/^v/,"").split(".").map(Number));
      process.exit(a[0]===b[0] && a[1]>=b[1] ? 0 : 1)' "$have" "$want"; then
    cli_dir=$(dirname "$(command -v pulumi)")
  else
    say "ignoring the pulumi on PATH (${have:-no version}): need $want or a later 3.x"
  fi
fi
if [ -z "$cli_dir" ]; then
  cli_dir=$(bash scripts/build-pulumi-cli.sh "$pulumi_version" | tail -n 1)
fi
got=$("$cli_dir/pulumi" version 2>/dev/null || true)
[ -n "$got" ] || fail "the Pulumi CLI in $cli_dir does not run"
say "Pulumi CLI $got"

# --- PostgreSQL, HAProxy and strace from Debian's packages ------------------------------------------
need_pkgs=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_pkgs+=(postgresql)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_pkgs+=(haproxy)
command -v mkfs.xfs >/dev/null 2>&1 || need_pkgs+=(xfsprogs)
command -v strace >/dev/null 2>&1 || [ -x /usr/bin/strace ] || need_pkgs+=(strace)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    fail "missing system packages: ${need_pkgs[*]}. Install them (apt-get install ${need_pkgs[*]}) or run the set-up as root."
  fi
  command -v apt-get >/dev/null 2>&1 || fail "missing ${need_pkgs[*]} and no apt-get to install them"
  say "installing ${need_pkgs[*]} from Debian's packages..."
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"; } >"$cache/apt.log" 2>&1; then
    tail -n 20 "$cache/apt.log" >&2
    fail "apt-get could not install ${need_pkgs[*]}. Full log: $cache/apt.log"
  fi
fi

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
