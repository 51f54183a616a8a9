#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds the app, the server and
# the trainer (which runs the hosted jobs; the server finds it beside itself), and serves the embedded A-share data on http://127.0.0.1:3000/ (no internet needed).
# Options are passed to `kxian serve` (e.g. --port 8080, --db /path/to.db).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-app.sh --release
printf '\033[1m==> building the server and the trainer\033[0m\n'
cargo build --release --locked -p kxian-server -p kxian-trainer
exec target/release/kxian serve --dist dist "$@"
