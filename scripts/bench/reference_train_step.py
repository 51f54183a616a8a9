#!/usr/bin/env python3
"""One training step of the reference implementation (PyPI kronos-finance on torch), timed:
the tokenizer's loss (both reconstructions + BSQ) and the predictor's s1/s2 cross-entropy
(sampled s1 conditioning, as upstream), backward and AdamW, on a batch of lookback-normalised
windows of XSHG_5min_600977.csv. Not run by CI; see scripts/bench/train-vs-reference.sh.

    reference_train_step.py --tokenizer D --predictor D --csv F --batch 16 --window 101 --steps 8
"""
import argparse
import contextlib
import json
import statistics
import sys
import time

import numpy as np
import pandas as pd
import torch
from kronos_finance._vendor.kronos_model.kronos import Kronos, KronosTokenizer


def main():
    p = argparse.ArgumentParser()
    for k in ["tokenizer", "predictor", "csv"]:
        p.add_argument("--" + k, required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--window", type=int, default=101)
    p.add_argument("--lookback", type=int, default=90)
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with contextlib.redirect_stdout(sys.stderr):
        tok = KronosTokenizer.from_pretrained(a.tokenizer).train()
        model = Kronos.from_pretrained(a.predictor).train()
    df = pd.read_csv(a.csv)
    df["timestamps"] = pd.to_datetime(df["timestamps"])
    cols = ["open", "high", "low", "close", "volume", "amount"]
    xs, stamps = [], []
    for b in range(a.batch):
        w = df.iloc[b * 8: b * 8 + a.window]
        x = w[cols].values.astype(np.float32)
        mean, std = x[: a.lookback].mean(0), x[: a.lookback].std(0)
        xs.append(np.clip((x - mean) / (std + 1e-5), -5, 5))
        t = w["timestamps"]
        stamps.append(np.stack([t.dt.minute, t.dt.hour, t.dt.weekday, t.dt.day, t.dt.month], 1))
    x = torch.tensor(np.stack(xs))
    stamp = torch.tensor(np.stack(stamps), dtype=torch.float32)

    out = {}
    opt = torch.optim.AdamW(tok.parameters(), lr=2e-4, weight_decay=0.1)
    times = []
    for _ in range(a.steps + 2):
        t0 = time.perf_counter()
        (z_pre, z), bsq, _, _ = tok(x)
        loss = (torch.nn.functional.mse_loss(z_pre, x) + torch.nn.functional.mse_loss(z, x) + bsq) / 2
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tok.parameters(), 2.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    out["tokenizer_step_s"] = statistics.median(times[2:])

    with torch.no_grad():
        s1, s2 = tok.eval().encode(x, half=True)
    opt = torch.optim.AdamW(model.parameters(), lr=4e-5, betas=(0.9, 0.95), weight_decay=0.1)
    times = []
    for _ in range(a.steps + 2):
        t0 = time.perf_counter()
        l1, l2 = model(s1[:, :-1], s2[:, :-1], stamp[:, :-1])
        loss, _, _ = model.head.compute_loss(l1, l2, s1[:, 1:], s2[:, 1:])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 3.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    out["predictor_step_s"] = statistics.median(times[2:])
    out["bars_per_step"] = a.batch * a.window
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
