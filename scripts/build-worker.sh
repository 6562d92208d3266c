#!/bin/sh
# Builds the Worker in the given folder with worker-build, using the pinned tools that
# scripts/tools.sh installs (worker-build cannot download them without GitHub).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
# Deploying the hub: refuse a configuration that could not work (see check-deploy.mjs). The
# local stack builds with FANLINE_LOCAL_BUILD=1 and its own settings.
if [ "${FANLINE_LOCAL_BUILD:-}" != "1" ] && grep -q '^name = "fanline-hub"' "$1/wrangler.toml"; then
  FANLINE_ROOT=$here . "$here/scripts/tools.sh"
  "$NODE22" "$here/scripts/check-deploy.mjs" "$1"
fi
FANLINE_ROOT=$here . "$here/scripts/tools.sh"
# An app's manifest and wrangler.toml are checked before every build, so a broken one never
# deploys (see `scripts/fanline check --help`).
features=
if [ -f "$1/manifest.json" ]; then
  "$NODE22" "$here/scripts/fanline.mjs" check "$1" >&2
  # Only the optional parts the manifest uses (sign-in, PayPal, credits, auctions) are compiled
  # in: each costs every fan's download. `check` above built the checker.
  target=${CARGO_TARGET_DIR:-target}
  case $target in /*) ;; *) target=$here/$target ;; esac
  features=$("$target/debug/manifest-check" --features "$1/manifest.json")
fi
[ "${FANLINE_PREBUILT:-}" = "1" ] && exit 0
cd "$1"
# worker-build's own wasm-opt pass keeps the name section (about 200 KB of function names, a
# tenth of the gzipped bundle), so it is skipped and run here without it. Same -O level and the
# same explicit feature set worker-build passes, so nothing workerd cannot load is emitted.
"$WORKER_BUILD" --release --no-opt . ${features:+--features "$features"}
"$WASM_OPT_BIN" -O --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling \
  build/index_bg.wasm -o build/index_bg.wasm
