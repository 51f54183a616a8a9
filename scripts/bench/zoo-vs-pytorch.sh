#!/usr/bin/env bash
# Training throughput of two zoo classifiers, kxian-trainer against their PyTorch twins
# (scripts/bench/zoo_reference.py) on the CPU, side by side in one run: the LSTM and the
# causal Transformer at equal sizes (d_model 64, 2 layers, 4 heads, 60 bars, batch 64),
# 2 threads each. kxian's steps include building each batch from the bars; PyTorch's get a
# ready tensor. Not part of CI. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${VENV:-target/bench/zoovenv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy
fi
cargo build --release -q -p kxian-trainer
work=target/bench/zoo
mkdir -p "$work"
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2
data=$PWD/server/data/hqchart
echo "| backbone | parameters (kxian / PyTorch) | PyTorch samples/s | kxian samples/s | ratio |"
echo "| --- | ---: | ---: | ---: | ---: |"
for backbone in lstm transformer; do
  cat > "$work/$backbone.toml" <<TOML
[data]
files = ["$data/000300.sh.day.kline.json", "$data/600000.sh.day.kline.json", "$data/000001.sz.day.kline.json"]
skip_invalid = true
market = "000300.SH"
context = 60
split = { val_from = 2016-01-04, test_from = 2019-01-02 }
[model]
backbone = "$backbone"
d_model = 64
layers = 2
heads = 4
dropout = 0.0
[target]
kind = "updown3"
[train]
epochs = 1
steps_per_epoch = 40
batch_size = 64
max_val = 64
TOML
  ref=$("$venv/bin/python" scripts/bench/zoo_reference.py --backbone "$backbone" --steps 40)
  rm -rf "$work/run-$backbone"
  target/release/kxian-trainer train-model --config "$work/$backbone.toml" --out "$work/run-$backbone" \
    --device cpu --progress json 2>/dev/null > "$work/$backbone.jsonl"
  python3 - "$ref" "$work/$backbone.jsonl" "$backbone" <<'PY'
import json, statistics, sys
ref = json.loads(sys.argv[1])
events = [json.loads(l) for l in open(sys.argv[2]) if l.startswith("{")]
ours = statistics.median([e["samples_per_s"] for e in events if e["event"] == "step"][3:])
params = next(e["parameters"] for e in events if e["event"] == "start")
theirs = ref["samples_per_s"]
print(f"| {sys.argv[3]} | {params:,} / {ref['parameters']:,} | {theirs:.0f} | {ours:.0f} | {ours / theirs:.2f}× |")
PY
done
