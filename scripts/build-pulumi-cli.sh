#!/usr/bin/env bash
# Builds the Pulumi CLI from the Go module proxy at the SDK's release and caches it per version
# outside the clone. Prints the directory holding the `pulumi` binary on its last line.
#
# Usage: scripts/build-pulumi-cli.sh [VERSION]     (default: the @pulumi/pulumi version in package.json)
# Env:   SWITCHYARD_CACHE   cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/switchyard)
set -euo pipefail
# `pulumi version` would otherwise check for a newer release online; nothing here may leave the machine.
export PULUMI_SKIP_UPDATE_CHECK=true

version="${1:-3.259.0}"
version="${version#v}"
cache="${SWITCHYARD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchyard}"
dest="$cache/pulumi/v$version"

if [ -x "$dest/pulumi" ] && "$dest/pulumi" version 2>/dev/null | grep -qx "v$version"; then
  echo "$dest"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "switchyard: no Go toolchain found, and no Pulumi CLI v$version is installed or cached." >&2
  echo "  Install Go (https://go.dev/dl, or 'apt-get install golang'), or install the Pulumi CLI v$version yourself." >&2
  exit 3
fi

work="$cache/pulumi/build-v$version"
rm -rf "$work"
mkdir -p "$work" "$dest"
cd "$work"

export GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "switchyard: building the Pulumi CLI v$version from the Go module proxy (about 4 minutes, once per machine)..." >&2
cat >go.mod <<EOF
module switchyard.local/pulumi-cli

go 1.25

replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace golang.org/x/text => golang.org/x/text v0.39.0
EOF
cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
EOF

if ! go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$version" "github.com/pulumi/pulumi/sdk/v3@v$version" >get.log 2>&1; then
  echo "switchyard: fetching the Pulumi CLI sources v$version from the Go module proxy failed:" >&2
  tail -n 15 get.log >&2
  exit 4
fi
if ! go build -trimpath -o "$dest/pulumi.tmp" \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
    github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >build.log 2>&1; then
  echo "switchyard: building the Pulumi CLI failed:" >&2
  tail -n 15 build.log >&2
  exit 4
fi
mv "$dest/pulumi.tmp" "$dest/pulumi"
cd /
rm -rf "$work"
echo "switchyard: Pulumi CLI $("$dest/pulumi" version) cached in $dest" >&2
echo "$dest"
