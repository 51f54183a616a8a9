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
# The trainer's wgpu backend is built into the one workspace build, so its test runs too.
features=(--features kxian-trainer/wgpu)
lap "building the tests (linted)"
cargo test --locked --workspace --all-targets "${features[@]}" --no-run

lap "the CUDA path type-checked, the docs without warnings"
# One check-mode build serves both. burn-cuda's build downloads an LLVM bundle unless DOCS_RS
# is set; a type-check needs none. Its own target dir keeps DOCS_RS and the CUDA features from
# invalidating the main build.
(
  unset RUSTC_WORKSPACE_WRAPPER CLIPPY_ARGS
  export DOCS_RS=1 CARGO_TARGET_DIR=target/check
  cargo check --locked --workspace --features kxian-trainer/cuda
  RUSTDOCFLAGS="-D warnings" cargo doc --locked --workspace --no-deps --features kxian-trainer/cuda
)

lap "tests"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}  # Mesa's WSI probe wants one
cargo test --locked --workspace "${features[@]}"
lap "done"
