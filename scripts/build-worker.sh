#!/bin/sh
# Builds the Worker in the given folder with worker-build, using the pinned tools that
# scripts/tools.sh installs (worker-build cannot download them without GitHub).
set -eu
[ "${FANLINE_PREBUILT:-}" = "1" ] && exit 0
here=$(cd "$(dirname "$0")/.." && pwd)
FANLINE_ROOT=$here . "$here/scripts/tools.sh"
cd "$1"
exec "$WORKER_BUILD" --release
