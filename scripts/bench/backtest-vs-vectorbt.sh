#!/usr/bin/env bash
# Backtest throughput beside vectorbt, side by side on this machine: the seeded random-walk
# universe of the engine benchmarks (500 symbols × 2,500 days, 1.25 M bars), Kxian's monthly
# rotation, SMA crossover and a top-20 % `top_k` on the five-operator expression
# `rank(delta($close, 5) / ref($close, 5)) * zscore(std($close, 20))` (the expression's
# evaluation alone in cells/CPU-s too), then vectorbt's monthly rotation and the same top-20 %
# strategy on the same opens and closes. vectorbt is installed from PyPI into
# target/bench/vbtvenv once. Not part of CI.
#
#   bash scripts/bench/backtest-vs-vectorbt.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/bench/vbtvenv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import vectorbt" 2>/dev/null; then
  python3 -m venv "$venv"
  # plotly 6 drops a template vectorbt 0.28 registers at import.
  "$venv/bin/pip" install -q "vectorbt==0.28.1" "plotly<6"
fi
cargo build --release -q -p kxian-shared --example backtest_throughput
data=target/bench/vbt-data
echo "== Kxian (one core)"
target/release/examples/backtest_throughput 500 2500 "$data"
echo "== vectorbt (one core)"
OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 "$venv/bin/python" scripts/bench/vectorbt_rotation.py "$data"
