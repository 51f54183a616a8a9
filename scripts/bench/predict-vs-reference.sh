#!/usr/bin/env bash
# Prediction-set throughput: `kxian-trainer predict` against the reference's `predict_batch`
# (PyPI kronos-finance + torch) on the same inputs: random Kronos-mini / Tokenizer-2k
# checkpoints, daily contexts of 256 bars, horizon 5 (HORIZON), 8 sample paths, 2 threads. The reference
# is slow, so it runs one batch of REF_CONTEXTS contexts; ours runs SYMBOLS symbols × 24 dates;
# both are compared per forecast. Not part of CI (it installs torch). Prints a Markdown table.
#
#   bash scripts/bench/predict-vs-reference.sh
#   SYMBOLS=50 REF_CONTEXTS=20 HORIZON=20 bash scripts/bench/predict-vs-reference.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/bench/inputs.sh
cargo build --release -q -p kxian-trainer
bin=target/release/kxian-trainer
symbols=${SYMBOLS:-200}
ref_contexts=${REF_CONTEXTS:-20}
export RAYON_NUM_THREADS=2 OMP_NUM_THREADS=2 MKL_NUM_THREADS=2
peak() { awk '/Maximum resident set size/ {printf "%.0f", $6/1024}' "$1"; }

# A universe of daily bars on the A-share calendar's weekdays: seeded random walks.
uni=$work/universe-$symbols
if [ ! -f "$uni/done" ]; then
  mkdir -p "$uni"
  python3 - "$uni" "$symbols" <<'PY'
import datetime as dt, math, random, sys
out, n = sys.argv[1], int(sys.argv[2])
days = []
d = dt.date(2019, 1, 2)
while len(days) < 1000:
    if d.weekday() < 5:
        days.append(d)
    d += dt.timedelta(days=1)
for i in range(n):
    rng = random.Random(1000 + i)
    price = 10 + i % 50
    with open(f"{out}/{600000 + i}.csv", "w") as f:
        f.write("date,open,high,low,close,volume,amount\n")
        for day in days:
            o = price
            c = max(0.5, o * math.exp(rng.gauss(0, 0.02)))
            h, l = max(o, c) * (1 + abs(rng.gauss(0, 0.005))), min(o, c) * (1 - abs(rng.gauss(0, 0.005)))
            v = round(rng.uniform(1e5, 1e6))
            f.write(f"{day},{o:.2f},{h:.2f},{l:.2f},{c:.2f},{v},{v * (o + c) / 2:.1f}\n")
            price = c
PY
  touch "$uni/done"
fi
files=$(ls "$uni"/*.csv | sort)

# Ours: every symbol at 24 month-ends (2021-2022), one stored-set run.
cfg=$work/predict-bench.toml
{
  echo "[universe]"
  echo "files = [$(printf '"%s",' $(realpath $files) | sed 's/,$//')]"
  echo "[model]"
  echo "kind = \"kronos\""
  echo "tokenizer = \"$(realpath "$work/rand-mini/tok")\""
  echo "predictor = \"$(realpath "$work/rand-mini/pred")\""
  echo "[schedule]"
  echo "every = \"month_end\""
  echo "from = 2021-01-01"
  echo "to = 2022-12-31"
  echo "[forecast]"
  echo "horizon = ${HORIZON:-5}"
  echo "samples = 8"
  echo "lookback = 256"
  echo "seed = 7"
  echo "batch = ${BATCH:-32}"
  echo "[output]"
  echo "csv = \"$(realpath "$work")/predict-bench.csv\""
  echo "parquet = \"$(realpath "$work")/predict-bench.parquet\""
} > "$cfg"
rm -f "$work/predict-bench.csv.partial.jsonl"
/usr/bin/time -v "$bin" predict --config "$cfg" --device cpu --threads "${THREADS:-2}" --progress json \
  > "$work/predict-events.jsonl" 2> "$work/ours-time.txt"
ours_rows=$(python3 -c 'import json,sys; e=[json.loads(l) for l in open(sys.argv[1])]; print(e[-1]["rows"])' "$work/predict-events.jsonl")
ours_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/ours-time.txt")

# The reference: one predict_batch of the first REF_CONTEXTS symbols at one month-end.
ref_json=$work/ref-predict-batch.json
/usr/bin/time -v "$venv/bin/python" scripts/bench/reference_forecast.py predict-batch \
  --tokenizer "$work/rand-mini/tok" --predictor "$work/rand-mini/pred" \
  --csvs $(echo "$files" | head -n "$ref_contexts") --as-of 2021-06-30 \
  --lookback 256 --horizon "${HORIZON:-5}" --samples 8 --threads 2 > "$ref_json" 2> "$work/ref-time.txt"

python3 - "$ref_json" "$ours_rows" "$ours_s" "$(peak "$work/ref-time.txt")" "$(peak "$work/ours-time.txt")" "$(nproc)" <<'PY'
import json, sys
ref = json.load(open(sys.argv[1]))
rows, secs, ref_mb, our_mb, cores = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
ours = rows / secs
print("| side | forecasts | seconds | forecasts/s | peak MB |")
print("| --- | ---: | ---: | ---: | ---: |")
print(f"| reference predict_batch | {ref['contexts']} | {ref['elapsed_s']:.1f} | {ref['forecasts_per_s']:.2f} | {ref_mb} |")
print(f"| kxian-trainer predict (whole run, model load included) | {rows} | {secs:.1f} | {ours:.2f} | {our_mb} |")
print(f"\nspeed-up per forecast: {ours / ref['forecasts_per_s']:.0f}× ({cores} cores)")
PY
