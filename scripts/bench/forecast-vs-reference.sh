#!/usr/bin/env bash
# Side-by-side forecast benchmark: kxian-trainer against the reference implementation (PyPI
# kronos-finance + torch), same checkpoints, same 400-bar context, arg-max sampling, 2 threads.
# Not part of CI (it installs torch). Prints a Markdown table.
#
#   bash scripts/bench/forecast-vs-reference.sh            # makes its inputs (scripts/bench/inputs.sh)
#   SHAPES="mini" HORIZONS="30" SAMPLES="1" bash scripts/bench/forecast-vs-reference.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/inputs.sh
cargo build --release -q -p kxian-trainer
bin=target/release/kxian-trainer
tok_mini=$work/rand-mini/tok
pred_mini=$work/rand-mini/pred
tok_small=$work/rand-small/tok
pred_small=$work/rand-small/pred

export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
peak() { awk '/Maximum resident set size/ {printf "%.0f", $6/1024}' "$1"; }

echo "| shape | horizon | samples | reference s | kxian s | speed-up | same arg-max output | reference peak MB | kxian peak MB |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |"
for shape in ${SHAPES:-mini small}; do
  if [ "$shape" = mini ]; then tok=$tok_mini; pred=$pred_mini; ctx=2048; else tok=$tok_small; pred=$pred_small; ctx=512; fi
  for h in ${HORIZONS:-30 120}; do
    for s in ${SAMPLES:-1 16}; do
      ours=$work/ours-$shape-$h-$s.json
      /usr/bin/time -v "$bin" forecast --tokenizer "$tok" --predictor "$pred" --input "$csv" --lookback 400 \
        --horizon "$h" --samples "$s" --top-k 1 --max-context "$ctx" --device cpu -q > "$ours" 2> "$work/ours-time.txt"
      ref=$work/ref-$shape-$h-$s.json
      /usr/bin/time -v "$venv/bin/python" scripts/bench/reference_forecast.py forecast --tokenizer "$tok" --predictor "$pred" \
        --csv "$csv" --lookback 400 --future-json "$ours" --samples "$s" --max-context "$ctx" --threads 2 \
        > "$ref" 2> "$work/ref-time.txt"
      python3 - "$ours" "$ref" "$shape" "$h" "$s" "$(peak "$work/ref-time.txt")" "$(peak "$work/ours-time.txt")" <<'PY'
import json, sys
ours, ref = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
shape, h, s, ref_mb, our_mb = sys.argv[3:]
# Prices and amount compare as they are; our volume is in shares, the file's in lots.
def close(a, b):
    return abs(a - b) <= 1e-3 * max(abs(b), 1.0)
same = all(close(o[c], r[c]) for o, r in zip(ours["mean"], ref["mean"]) for c in (0, 1, 2, 3, 5))
same = same and all(close(o[4] / 100, r[4]) for o, r in zip(ours["mean"], ref["mean"]))
t_ref, t_ours = ref["elapsed_s"], ours["model"]["elapsed_ms"] / 1000
print(f"| {shape} | {h} | {s} | {t_ref:.2f} | {t_ours:.3f} | {t_ref / t_ours:.0f}× | {'yes' if same else 'NO'} | {ref_mb} | {our_mb} |")
PY
    done
  done
done
