#!/usr/bin/env bash
# Training-step throughput, kxian-trainer against the reference implementation (PyPI
# kronos-finance + torch): Kronos-mini / Tokenizer-2k shapes (the parity checkpoints), batches
# of 16 windows of 101 five-minute bars, 2 threads. Not part of CI. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/inputs.sh
cargo build --release -q -p kxian-trainer
tok=$work/rand-mini/tok
pred=$work/rand-mini/pred
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2
ref=$("$venv/bin/python" scripts/bench/reference_train_step.py --tokenizer "$tok" --predictor "$pred" --csv "$csv" \
  --batch 16 --window 101 --steps 8 2>/dev/null)
run=target/bench/train-run
rm -rf "$run"
target/release/kxian-trainer train --input "$csv" --out "$run" --tokenizer "$tok" --predictor "$pred" \
  --lookback 90 --horizon 10 --stride 8 --batch-size 16 --epochs 1 --max-seconds 20 --device cpu \
  --progress json --save-every 100000 2>/dev/null > "$run.jsonl"
python3 - "$ref" "$run.jsonl" <<'PY'
import json, statistics, sys
ref = json.loads(sys.argv[1])
events = [json.loads(l) for l in open(sys.argv[2])]
bars = ref["bars_per_step"]
print("| stage | reference bars/s | kxian bars/s | ratio |")
print("| --- | ---: | ---: | ---: |")
for stage in ("tokenizer", "predictor"):
    ours = statistics.median([e["bars_per_s"] for e in events if e["event"] == "step" and e["stage"] == stage][2:])
    theirs = bars / ref[f"{stage}_step_s"]
    print(f"| {stage} | {theirs:.0f} | {ours:.0f} | {ours / theirs:.2f}× |")
PY
