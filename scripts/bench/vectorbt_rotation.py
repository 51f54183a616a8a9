"""vectorbt on the benchmark universe Kxian's `backtest_throughput` example writes: the monthly
rotation (top 20 % by the month's return, equal weights) and a top-20 % strategy on the issue's
five-operator score, both rebalanced after each month's last day at the next open, with
commission and slippage (vectorbt has no A-share rules). Prints bars per CPU-second of the
signal computation plus the simulation, after one warm-up run (numba compiles on the first)."""

import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt

data = sys.argv[1]
open_ = pd.read_csv(f"{data}/open.csv", index_col=0, parse_dates=True)
close = pd.read_csv(f"{data}/close.csv", index_col=0, parse_dates=True)
bars = close.size


def month_ends(index):
    # The last trading day of each month (positional: PeriodIndex.shift moves the months).
    month = np.asarray(index.to_period("M"))
    return np.append(month[1:] != month[:-1], True)


def weights_from(score, ends, frac=0.2):
    k = max(1, int(round(score.shape[1] * frac)))
    s = score[ends]
    top = s.rank(axis=1, ascending=False, method="first") <= k
    w = top.astype(float).div(top.sum(axis=1).replace(0, np.nan), axis=0)
    out = pd.DataFrame(np.nan, index=score.index, columns=score.columns)
    out[ends] = w.values
    # Decided after the close, traded at the next open.
    return out.shift(1)


def rotation():
    ends = month_ends(close.index)
    last = close[ends]
    ret = last / last.shift(1) - 1
    score = pd.DataFrame(np.nan, index=close.index, columns=close.columns)
    score[ends] = ret.values
    return weights_from(score, ends)


def top_k_expression():
    # rank(delta($close, 5) / ref($close, 5)) * zscore(std($close, 20)), per date
    mom = close.diff(5) / close.shift(5)
    r = mom.rank(axis=1, pct=True)
    sd = close.rolling(20).std()
    z = sd.sub(sd.mean(axis=1), axis=0).div(sd.std(axis=1, ddof=0), axis=0)
    return weights_from(r * z, month_ends(close.index))


def simulate(size):
    pf = vbt.Portfolio.from_orders(
        close=open_,
        size=size,
        size_type="targetpercent",
        group_by=True,
        cash_sharing=True,
        call_seq="auto",
        fees=0.0003,
        slippage=0.0001,
        init_cash=1e8,
        freq="1D",
    )
    return pf.total_return(), pf.orders.count()


for name, signal in [("monthly rotation", rotation), ("top 20 % on the expression", top_k_expression)]:
    simulate(signal())  # numba compiles on the first call
    runs, c0 = 0, time.process_time()
    while runs < 3 or time.process_time() - c0 < 2.0:
        total, orders = simulate(signal())
        runs += 1
    cpu = time.process_time() - c0
    print(
        f"vectorbt {vbt.__version__}, {name:<28} {bars * runs / cpu:>12.0f} bars/CPU-s "
        f"({runs} runs, {cpu / runs:.3f} s each, {orders} orders, total return {total:.3f})"
    )
