#!/usr/bin/env bash
# Trains Kxian's default model (the `tiny` preset: Kronos architecture at d_model 64) on the
# embedded daily series, evaluates it on their held-out last 10 %, and writes it to
# public/models/kxian-default/ with its model card. One command, seeded:
#
#   bash scripts/train-default-model.sh        # about 20 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
out=public/models/kxian-default
run=target/default-model-run
SEED=${SEED:-20261201}
TOKENIZER_SECONDS=${TOKENIZER_SECONDS:-300}
PREDICTOR_SECONDS=${PREDICTOR_SECONDS:-600}
inputs=(server/data/hqchart/*.day.kline.json)

cargo build --release -q -p kxian-trainer
bin=target/release/kxian-trainer
rm -rf "$run"
common=(--input "${inputs[@]}" --skip-invalid --lookback 90 --horizon 10 --seed "$SEED" --device cpu)
RAYON_NUM_THREADS=2 "$bin" finetune-tokenizer "${common[@]}" --out "$run" --preset tiny --stride 2 \
  --epochs 100 --batch-size 32 --lr 1e-3 --max-seconds "$TOKENIZER_SECONDS"
RAYON_NUM_THREADS=2 "$bin" finetune-predictor "${common[@]}" --out "$run" --preset tiny --stride 2 \
  --tokenizer "$run/tokenizer/best" --epochs 100 --batch-size 32 --lr 1e-3 --max-seconds "$PREDICTOR_SECONDS"

rm -rf "$out"
mkdir -p "$out"
cp -r "$run/tokenizer/best" "$out/tokenizer"
cp -r "$run/predictor/best" "$out/predictor"
cp "$run/metrics.jsonl" "$out/metrics.jsonl"
RAYON_NUM_THREADS=2 "$bin" evaluate --tokenizer "$out/tokenizer" --predictor "$out/predictor" \
  --input "${inputs[@]}" --skip-invalid --lookback 90 --horizon 10 --samples 16 --seed "$SEED" \
  --device cpu --out "$out/evaluation.json" 2> "$run/evaluation.md"
cat "$run/evaluation.md"
echo "wrote $out"
