#!/usr/bin/env bash
# The second command of the README, and what CI runs: installs what is missing (Chromium
# included), checks formatting and lints, builds the web app, and runs every test, the
# end-to-end browser tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
lap() { printf '\033[1m==> %s\033[0m (%ss so far)\n' "$*" $((SECONDS - t0)); }

bash scripts/setup.sh --browser
lap "rustfmt"
cargo fmt --all -- --check

# Clippy runs inside the builds instead of beside them: as the workspace's rustc wrapper it
# lints the workspace crates while they compile for real, so the web app's build, the test
# build and the e2e binaries are the only compiles (a separate `cargo clippy` is a whole
# second compile of every dependency). -D warnings, as `cargo clippy -- -D warnings` passes it.
clippy_driver=$(rustup which clippy-driver 2>/dev/null || command -v clippy-driver) ||
  { echo "test.sh: clippy-driver is missing: rustup component add clippy" >&2; exit 1; }
export RUSTC_WORKSPACE_WRAPPER=$clippy_driver
export CLIPPY_ARGS=-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__

lap "building the web app (wasm32, linted)"
bash scripts/build-app.sh
# The test build leaves the GPU backends out: the browser's WebGPU path is the same burn code,
# built into the app above and run by the end-to-end tests, and the native wgpu stack is a
# third of the test build's compile time. The trainer's wgpu and CUDA code are type-checked
# and linted in the last step; `cargo test -p kxian-trainer --features wgpu` runs the wgpu
# test (on Mesa's lavapipe where there is no GPU).
lap "building the tests (linted)"
cargo test --locked --workspace --all-targets --no-run

lap "tests"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}  # Mesa's WSI probe wants one
cargo test --locked --workspace

lap "the GPU paths (CUDA, wgpu) type-checked and linted, the docs without warnings"
# One check-mode build serves both, in the same target dir (proc macros and build scripts are
# shared with the test build) and after the tests, so nothing is rebuilt behind it. burn-cuda's
# build downloads an LLVM bundle unless DOCS_RS is set; a type-check needs none (only the
# CUDA-only crates read DOCS_RS, so the test build's artifacts stay valid).
gpu=(--features kxian-trainer/cuda,kxian-trainer/wgpu)
# No --all-targets: dev-dependencies would change dependency features and make the docs check
# a second set of crates.
DOCS_RS=1 cargo check --locked --workspace "${gpu[@]}"
DOCS_RS=1 RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps "${gpu[@]}"
lap "done"
