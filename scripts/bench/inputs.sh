# Sourced by the *-vs-reference benches: the reference implementation in a venv, and the
# inputs both sides run on, made here so a clone needs nothing beside it.
#   - random checkpoints with the released Kronos-mini / Tokenizer-2k shapes (and Kronos-small),
#     written by the reference's own save_pretrained (seed 42);
#   - 2,500 five-minute OHLCVA bars in the Kronos CSV layout: a seeded random walk on the A-share
#     session grid (speed does not depend on what the bars say, only on their number).
venv=${VENV:-target/bench/refvenv}
work=target/bench
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, kronos_finance' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch kronos-finance pandas
fi
for shape in mini small; do
  if [ ! -f "$work/rand-$shape/pred/model.safetensors" ]; then
    "$venv/bin/python" scripts/bench/reference_forecast.py make-random \
      "$work/rand-$shape/tok" "$work/rand-$shape/pred" --shape "$shape"
  fi
done
csv=$work/five_minute_bars.csv
if [ ! -f "$csv" ]; then
  python3 - "$csv" <<'PY'
import datetime as dt, math, random, sys
rng = random.Random(600977)
def session():
    t = dt.datetime(2000, 1, 1, 9, 30)
    while t.time() < dt.time(15, 0):
        t += dt.timedelta(minutes=5)
        if dt.time(11, 30) < t.time() <= dt.time(13, 0):
            continue
        yield t.time()
rows, day, price = [], dt.date(2024, 6, 18), 20.0
while len(rows) < 2500:
    if day.weekday() < 5:
        for t in session():
            o = price
            c = max(0.5, o * math.exp(rng.gauss(0, 0.002)))
            h, l = max(o, c) * (1 + abs(rng.gauss(0, 0.001))), min(o, c) * (1 - abs(rng.gauss(0, 0.001)))
            v = round(rng.uniform(500, 5000))
            rows.append((dt.datetime.combine(day, t), o, h, l, c, v, v * 100 * (o + c) / 2))
            price = c
    day += dt.timedelta(days=1)
with open(sys.argv[1], "w") as f:
    f.write("timestamps,open,high,low,close,volume,amount\n")
    for r in rows[:2500]:
        f.write(f"{r[0]:%Y-%m-%d %H:%M:%S},{r[1]:.2f},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]},{r[6]:.1f}\n")
PY
fi
