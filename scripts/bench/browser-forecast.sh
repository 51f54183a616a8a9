#!/usr/bin/env bash
# Browser forecast timings against the native CLI, on this machine (not part of CI):
#   - the release web app (`wasm-release` + wasm-opt) and its compressed size;
#   - the end-to-end browser tests, which print download, init, run and per-bar times for the
#     default model on WebGPU (Chromium's software adapter here) and on the CPU fallback;
#   - `kxian-trainer forecast` (release, native CPU) on the same bars and parameters.
# Usage: bash scripts/bench/browser-forecast.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-$(mktemp -d)}

[ "${SKIP_BUILD:-0}" = 1 ] || bash scripts/build-app.sh --release | tail -3
cargo build --release --locked -p kxian-trainer
input=server/data/hqchart/000300.sh.day.kline.json
for i in 1 2 3; do
  target/release/kxian-trainer forecast --input "$input" --lookback 300 --horizon 12 \
    --samples 4 --seed 7 --top-p 0.9 --quiet |
    python3 -c 'import json,sys; m=json.load(sys.stdin)["model"]; print("native CLI (release, CPU): %.1f ms, %.2f ms/bar" % (m["elapsed_ms"], m["ms_per_bar"]))'
done
cargo test --locked -p kxian-e2e --features kxian-trainer/wgpu --test integration -- forecast_page:: --nocapture --test-threads 1 2>&1 |
  grep -E 'CPU \(wasm\)|WebGPU \(|browser vs CLI|test result'
# Leave a debug build behind, as the test command expects to rebuild it anyway.
