#!/usr/bin/env bash
# The first command of the README: installs what is missing, builds the app, the server and
# the trainer (which runs the hosted jobs; the server finds it beside itself), and serves the
# embedded A-share data on http://127.0.0.1:3000/ (no internet needed).
# Options are passed to `kxian serve` (e.g. --port 8080, --db /path/to.db).
#
# To serve sooner, the first bundle leaves out WebGPU and wasm-opt (the in-browser forecast runs
# on the wasm CPU path, which "auto" picks on most machines anyway). Once the server is up, the
# full bundle builds at low priority and replaces dist/ in one move: reload the page to get it.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
bash scripts/setup.sh
bash scripts/build-app.sh --release --cpu-only --no-wasm-opt
printf '\033[1m==> building the server and the trainer (release)\033[0m\n'
cargo build --release --locked -p kxian-server -p kxian-trainer
printf '\033[1m==> built in %s s; serving\033[0m\n' $((SECONDS - t0))

# Job control: the server and the background build each get a process group, so one kill
# stops a build with all its children.
set -m
target/release/kxian serve --dist dist "$@" &
server=$!
full=
stop() { kill -- -"$server" ${full:+-"$full"} 2>/dev/null || true; }
trap stop EXIT
trap 'exit 130' INT TERM
(
  # Give the server its first seconds (the store's first load) before competing for the cores.
  sleep 5
  if nice -n 19 bash scripts/build-app.sh --release > target/run-webgpu.log 2>&1; then
    printf '\033[1m==> the full bundle (WebGPU, wasm-opt) is in dist/: reload the page\033[0m\n'
  else
    echo "run.sh: the full bundle failed to build (target/run-webgpu.log); the CPU-only one stays" >&2
  fi
) &
full=$!
wait "$server"
