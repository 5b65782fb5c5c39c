#!/bin/sh
# Install the Debian packages a make target needs, if any is missing.
# Usage: tools/deps.sh PACKAGE...   (root runs apt-get; anyone else gets the command)
set -eu
missing=""
for p in "$@"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0
echo "fulcrum: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "fulcrum: run as root, or: sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
