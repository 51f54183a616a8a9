#!/usr/bin/env bash
# Installs what Kxian needs on a Debian machine with Rust (rustup). Idempotent: each step
# checks first and skips what is already there. Needs no internet beyond the package
# registries (crates.io, npm, Debian).
#
#   scripts/setup.sh            toolchain for building and running (wasm target, wasm-bindgen, npm packages)
#   scripts/setup.sh --browser  also what the tests need: Chromium + ChromeDriver for the
#                               end-to-end tests, Mesa's lavapipe for the wgpu tests
set -euo pipefail
cd "$(dirname "$0")/.."

want_browser=0
for a in "$@"; do
  case "$a" in
    --browser) want_browser=1 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

command -v cargo >/dev/null || { echo "Rust is required: install it with rustup (https://rustup.rs)" >&2; exit 1; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# wasm-bindgen's CLI must be exactly the version in Cargo.lock.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  step "installing wasm-bindgen-cli $wbg_version (a few minutes, once)"
  # Not --locked: its packaged lock pins a crate the registry mirror lacks. LTO off: 2x faster build.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install wasm-bindgen-cli --version "$wbg_version"
fi

if ! command -v npm >/dev/null; then
  step "installing Node.js and npm"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.kxian-lock; then
  step "installing npm packages (echarts, binaryen)"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.kxian-lock
fi

if [ "$want_browser" = 1 ] && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null && [ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; }; then
  step "installing Chromium and ChromeDriver (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei
fi

# wgpu needs a Vulkan driver; on a machine without a GPU, Mesa's lavapipe runs it on the CPU.
if [ "$want_browser" = 1 ] && ! ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1; then
  step "installing Mesa's Vulkan drivers (lavapipe, for the wgpu tests)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers
fi

step "fetching crates"
cargo fetch --locked >/dev/null
