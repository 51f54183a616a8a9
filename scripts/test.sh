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
lap "clippy"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p kxian-app --target wasm32-unknown-unknown -- -D warnings
lap "tests"
cargo test --locked --workspace
lap "done"
