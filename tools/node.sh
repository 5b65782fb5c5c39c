#!/bin/sh
# Node.js and npm for the console's build and browser tests: the machine's own when it
# has both (a NodeSource nodejs carries npm inside), else Debian's nodejs and npm.
set -eu
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && exit 0
exec sh "$(dirname "$0")/deps.sh" nodejs npm
