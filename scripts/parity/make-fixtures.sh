#!/usr/bin/env bash
# Regenerates shared/tests/data/kronos-parity-tiny/ with the reference implementation: the
# upstream Kronos model code as the PyPI package kronos-finance vendors it, on the torch below.
# Not part of the test run (the fixtures are committed): run it after changing the generator.
# The packages go into a virtual environment under target/ (torch's wheel is large: ~5 GiB
# with its CUDA libraries, which the CPU run does not use). Arguments go to the generator, e.g.
#   bash scripts/parity/make-fixtures.sh --out /tmp/mini --preset mini --context 400 \
#     --case 30:2048 --case 120:2048 --prefix mini
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/parity-venv
if [[ ! -x $venv/bin/python ]]; then
  python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet -r scripts/parity/requirements.txt
# kronos-finance's own dependencies (plotting, data clients) are not needed for the model code.
"$venv/bin/pip" install --quiet --no-deps kronos-finance==0.1.5
if [[ $# -eq 0 ]]; then
  set -- --out shared/tests/data/kronos-parity-tiny
fi
exec "$venv/bin/python" scripts/parity/make-fixtures.py \
  --csv shared/tests/data/kronos/XSHG_5min_600977.csv "$@"
