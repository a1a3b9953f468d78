#!/bin/sh
# Installs the Debian packages the build, the server and the tests need,
# only those missing. Runs apt-get update once, and only when installing.
# Extra package names on the command line are added (make valgrind, make
# bench).
set -eu

PACKAGES="build-essential pkg-config mosquitto mosquitto-clients mosquitto-dev
libmosquitto-dev libsqlite3-dev libsodium-dev libcjson-dev libcmocka-dev
uthash-dev sqlite3 clang libclang-rt-14-dev libfaketime $*"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "Installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "error: need root (or sudo) to install:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
