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

# The tests leave about one core idle (the browser tests mostly wait on Chromium and the
# server), so the check-mode build of the GPU paths and the docs runs beside them, at the
# lowest CPU priority, once the tests' own build step has let go of the target dir's lock.
lap "tests, and beside them the GPU paths (CUDA, wgpu) type-checked and linted and the docs"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}  # Mesa's WSI probe wants one
logs=$(mktemp -d)
cargo test --locked --workspace > >(tee "$logs/tests") 2>&1 &
tests=$!
until grep -q '^ *Running ' "$logs/tests" 2>/dev/null || ! kill -0 "$tests" 2>/dev/null; do
  sleep 1
done
# One check-mode build serves both, in the same target dir (proc macros and build scripts are
# shared with the test build). burn-cuda's build downloads an LLVM bundle unless DOCS_RS is
# set; a type-check needs none (only the CUDA-only crates read DOCS_RS, so the test build's
# artifacts stay valid). No --all-targets: dev-dependencies would change dependency features
# and make the docs check a second set of crates.
gpu=(--features kxian-trainer/cuda,kxian-trainer/wgpu)
(
  t=$SECONDS
  DOCS_RS=1 nice -n 19 cargo check --locked --workspace "${gpu[@]}"
  DOCS_RS=1 RUSTDOCFLAGS="-D warnings" nice -n 19 cargo doc --locked --workspace --no-deps "${gpu[@]}"
  echo "checked and documented in $((SECONDS - t)) s"
) > "$logs/check" 2>&1 &
check=$!
trap 'kill "$tests" "$check" 2>/dev/null || true' EXIT
tests_rc=0
wait "$tests" || tests_rc=$?
lap "tests finished (exit $tests_rc); waiting for the check and the docs"
check_rc=0
wait "$check" || check_rc=$?
cat "$logs/check"
trap - EXIT
[ "$tests_rc" = 0 ] || { echo "test.sh: the tests failed (above)" >&2; exit "$tests_rc"; }
[ "$check_rc" = 0 ] || { echo "test.sh: the GPU check or the docs failed (above)" >&2; exit "$check_rc"; }
lap "done"
