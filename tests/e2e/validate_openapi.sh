#!/bin/bash
# Validate an OpenAPI document with @apidevtools/swagger-parser (installed once into
# build/npm from the npm registry; Debian's nodejs and npm are installed if missing).
set -eu
doc=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
if ! command -v npm >/dev/null 2>&1; then
	sh "$top/tools/deps.sh" nodejs npm >&2
fi
major=$(node -p 'process.versions.node.split(".")[0]')
ver=13.1.0
[ "$major" -lt 20 ] && ver=10.1.0
prefix="$top/build/npm"
if [ ! -d "$prefix/node_modules/@apidevtools/swagger-parser" ]; then
	mkdir -p "$prefix"
	npm install --prefix "$prefix" --no-audit --no-fund --silent \
		"@apidevtools/swagger-parser@$ver" >&2
fi
NODE_PATH="$prefix/node_modules" node -e '
require("@apidevtools/swagger-parser").validate(process.argv[1]).then(
  () => process.exit(0),
  (e) => { console.error(e.message); process.exit(1); });' "$doc"
