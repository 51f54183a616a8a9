#!/usr/bin/env bash
# Trains Kxian's default model (the `tiny` preset: Kronos architecture at d_model 64) on the
# embedded daily series, evaluates it on their held-out last 10 %, and writes it to
# public/models/kxian-default/ with its model card. One command, seeded:
#
#   bash scripts/train-default-model.sh        # about 15 minutes on 2 cores
#
# Fixed epochs, not a time budget, so the same command gives the same model on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=public/models/kxian-default
run=target/default-model-run
SEED=${SEED:-20261201}
TOKENIZER_EPOCHS=${TOKENIZER_EPOCHS:-1}
PREDICTOR_EPOCHS=${PREDICTOR_EPOCHS:-2}
inputs=(server/data/hqchart/*.day.kline.json)

cargo build --release -q -p kxian-trainer
bin=target/release/kxian-trainer
rm -rf "$run"
common=(--input "${inputs[@]}" --skip-invalid --lookback 90 --horizon 10 --seed "$SEED" --device cpu)
RAYON_NUM_THREADS=2 "$bin" finetune-tokenizer "${common[@]}" --out "$run" --preset tiny --stride 4 \
  --epochs "$TOKENIZER_EPOCHS" --batch-size 32 --lr 1e-3
RAYON_NUM_THREADS=2 "$bin" finetune-predictor "${common[@]}" --out "$run" --preset tiny --stride 4 \
  --tokenizer "$run/tokenizer/best" --epochs "$PREDICTOR_EPOCHS" --batch-size 32 --lr 1e-3

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
