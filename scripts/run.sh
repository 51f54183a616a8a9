#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds the app, the server and
# the trainer (which runs the hosted jobs; the server finds it beside itself), and serves the
# embedded A-share data on http://127.0.0.1:3000/ (no internet needed).
# Options are passed to `kxian serve` (e.g. --port 8080, --db /path/to.db).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/setup.sh
bash scripts/build-app.sh --release --wasm-only
# wasm-opt keeps one core busy for minutes; the server and the trainer build beside it. (Beside
# the wasm compile instead, both builds would only contend for the same two cores.)
printf '\033[1m==> building the server and the trainer beside wasm-opt (log: target/run-native.log)\033[0m\n'
cargo build --release --locked -p kxian-server -p kxian-trainer > target/run-native.log 2>&1 &
native=$!
trap 'kill "$native" 2>/dev/null || true' EXIT
bash scripts/build-app.sh --release
printf '\033[1m==> waiting for the server and the trainer (%s s so far)\033[0m\n' $((SECONDS - t0))
if ! wait "$native"; then
  tail -n 40 target/run-native.log >&2
  echo "run.sh: building the server and the trainer failed (target/run-native.log)" >&2
  exit 1
fi
trap - EXIT
printf '\033[1m==> built in %s s\033[0m\n' $((SECONDS - t0))
exec target/release/kxian serve --dist dist "$@"
