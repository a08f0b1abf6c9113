#!/usr/bin/env bash
# The system part of Switchyard's set-up, shared by the repository's set-up (scripts/setup.sh) and by
# an installed package's `switchyard setup`. Idempotent, unattended; installs what is missing and
# nothing else:
#   - the Pulumi CLI at the SDK's release: a compatible `pulumi` (SWITCHYARD_PULUMI_DIR, then PATH),
#     else one built from the Go module proxy and cached per version outside any project
#     (scripts/build-pulumi-cli.sh);
#   - PostgreSQL and HAProxy from Debian's packages, plus any package named with --also.
# Only the package registries are contacted.
#
# Usage: setup-system.sh [--pulumi-version VERSION] [--also COMMAND:PACKAGE]...
#   --pulumi-version  the @pulumi/pulumi release the CLI must match (default: the one in the package's
#                     package.json)
#   --also            one more Debian package, installed when COMMAND is not found (e.g. strace:strace)
# Env:  SWITCHYARD_CACHE, SWITCHYARD_PULUMI_DIR (as scripts/build-pulumi-cli.sh and the CLI read them)
# Exit: 0 ready; 1 a system package is missing and cannot be installed, or the CLI does not run;
#       2 bad arguments; 3 no Go toolchain to build the CLI; 4 building the CLI failed.
set -euo pipefail
# `pulumi version` would otherwise check for a newer release online; nothing here may leave the machine.
export PULUMI_SKIP_UPDATE_CHECK=true

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${SWITCHYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard}"
mkdir -p "$cache"
say() { echo "setup: $*" >&2; }
fail() { echo "setup: error: $*" >&2; exit 1; }
usage() { echo "setup: error: $*" >&2; echo "usage: setup-system.sh [--pulumi-version VERSION] [--also COMMAND:PACKAGE]..." >&2; exit 2; }

pulumi_version=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --pulumi-version) [ $# -ge 2 ] || usage "--pulumi-version needs a version"; pulumi_version="${2#v}"; shift 2;;
    --also) [ $# -ge 2 ] && [[ "$2" == *:* ]] || usage "--also needs COMMAND:PACKAGE"; extra+=("$2"); shift 2;;
    *) usage "unknown argument '$1'";;
  esac
done
if [ -z "$pulumi_version" ]; then
  pulumi_version=$(sed -n 's/.*"@pulumi\/pulumi": "\([0-9.]*\)".*/\1/p' "$here/../package.json" | head -n1)
  [ -n "$pulumi_version" ] || fail "cannot read the @pulumi/pulumi version from $here/../package.json"
fi
[[ "$pulumi_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || usage "the Pulumi version '$pulumi_version' is not MAJOR.MINOR.PATCH"

# A CLI is compatible when its major version matches and its minor is at least the SDK's.
compatible() {
  local have="${1#v}" want="${2#v}"
  [[ "$have" =~ ^([0-9]+)\.([0-9]+)\. ]] || return 1
  local hmaj="${BASH_REMATCH[1]}" hmin="${BASH_REMATCH[2]}"
  [[ "$want" =~ ^([0-9]+)\.([0-9]+)\. ]] || return 1
  [ "$hmaj" -eq "${BASH_REMATCH[1]}" ] && [ "$hmin" -ge "${BASH_REMATCH[2]}" ]
}

# A command on PATH or in the usual system folders (root's sbin may be off a user's PATH).
have_cmd() {
  command -v "$1" >/dev/null 2>&1 && return 0
  local d
  for d in /usr/sbin /usr/bin /sbin /bin; do [ -x "$d/$1" ] && return 0; done
  return 1
}

# --- Pulumi CLI -----------------------------------------------------------------------------------
want="v$pulumi_version"
cli_dir=""
if [ -n "${SWITCHYARD_PULUMI_DIR:-}" ] && [ -x "$SWITCHYARD_PULUMI_DIR/pulumi" ]; then
  cli_dir="$SWITCHYARD_PULUMI_DIR"
elif command -v pulumi >/dev/null 2>&1; then
  have=$(pulumi version 2>/dev/null || true)
  if [ -n "$have" ] && compatible "$have" "$want"; then
    cli_dir=$(dirname "$(command -v pulumi)")
  else
    say "ignoring the pulumi on PATH (${have:-no version}): need $want or a later 3.x"
  fi
fi
if [ -z "$cli_dir" ]; then
  cli_dir=$(SWITCHYARD_CACHE="$cache" bash "$here/build-pulumi-cli.sh" "$pulumi_version" | tail -n 1)
fi
got=$("$cli_dir/pulumi" version 2>/dev/null || true)
[ -n "$got" ] || fail "the Pulumi CLI in $cli_dir does not run"
say "Pulumi CLI $got in $cli_dir"

# --- PostgreSQL, HAProxy (and --also packages) from Debian's packages -------------------------------
need_pkgs=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ] || need_pkgs+=(postgresql)
have_cmd haproxy || need_pkgs+=(haproxy)
for pair in ${extra[@]+"${extra[@]}"}; do
  have_cmd "${pair%%:*}" || need_pkgs+=("${pair#*:}")
done
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
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
fi
say "PostgreSQL $("$pg_bin/postgres" --version 2>/dev/null | sed -n 's/^postgres (PostgreSQL) \([^ ]*\).*/\1/p') in $pg_bin"
say "HAProxy $( (haproxy -v 2>/dev/null || /usr/sbin/haproxy -v 2>/dev/null) | sed -n '1s/^HAProxy version \([^ ]*\).*/\1/p')"
