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
lap "building the web app"
bash scripts/build-app.sh
# The trainer's wgpu backend is built into the one workspace build, so its test runs too.
features=(--features kxian-trainer/wgpu)
lap "clippy"
cargo clippy --locked --workspace --all-targets "${features[@]}" -- -D warnings
cargo clippy --locked -p kxian-app --target wasm32-unknown-unknown -- -D warnings
lap "the model for wasm32, the CUDA path type-checked"
cargo check --locked -p kxian-shared --target wasm32-unknown-unknown
# burn-cuda's build downloads an LLVM bundle unless DOCS_RS is set; a type-check needs none.
# Its own target dir keeps DOCS_RS from invalidating the main build.
DOCS_RS=1 CARGO_TARGET_DIR=target/cuda-check cargo check --locked -p kxian-trainer --features cuda
lap "tests"
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}  # Mesa's WSI probe wants one
cargo test --locked --workspace "${features[@]}"
lap "done"
