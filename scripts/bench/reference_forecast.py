#!/usr/bin/env python3
"""The reference Kronos forecast (PyPI `kronos-finance`, which vendors upstream's model code),
timed the way scripts/bench/forecast-vs-reference.sh times ours. Not run by CI.

    reference_forecast.py make-random DIR_TOK DIR_PRED --shape small     # random checkpoints, seed 42
    reference_forecast.py forecast --tokenizer D --predictor D --csv F --lookback 400 \
        --future-json ours.json --samples 16 --max-context 512 --threads 2
    reference_forecast.py predict-batch --tokenizer D --predictor D --csvs F1 F2 ... --as-of 2021-06-30 \
        --lookback 256 --horizon 5 --samples 8 --threads 2     # one batch of contexts, as `predict` runs
"""
import argparse
import contextlib
import json
import resource
import sys
import time

import pandas as pd
import torch
from kronos_finance._vendor.kronos_model.kronos import Kronos, KronosPredictor, KronosTokenizer

TOKENIZER = dict(d_in=6, d_model=256, n_heads=4, ff_dim=512, n_enc_layers=4, n_dec_layers=4,
                 ffn_dropout_p=0.0, attn_dropout_p=0.0, resid_dropout_p=0.0, s1_bits=10, s2_bits=10,
                 beta=0.05, gamma0=1.0, gamma=1.1, zeta=0.05)
PREDICTORS = {
    "mini": dict(s1_bits=10, s2_bits=10, n_layers=4, d_model=256, n_heads=4, ff_dim=512,
                 ffn_dropout_p=0.2, attn_dropout_p=0.0, resid_dropout_p=0.2, token_dropout_p=0.0, learn_te=True),
    "small": dict(s1_bits=10, s2_bits=10, n_layers=8, d_model=512, n_heads=8, ff_dim=1024,
                  ffn_dropout_p=0.25, attn_dropout_p=0.1, resid_dropout_p=0.25, token_dropout_p=0.1, learn_te=True),
}


def make_random(a):
    torch.manual_seed(42)
    group = 5 if a.shape == "mini" else 4
    KronosTokenizer(**TOKENIZER, group_size=group).save_pretrained(a.tokenizer_dir)
    Kronos(**PREDICTORS[a.shape]).save_pretrained(a.predictor_dir)


def forecast(a):
    torch.set_num_threads(a.threads)
    with contextlib.redirect_stdout(sys.stderr):  # from_pretrained prints to stdout
        tok = KronosTokenizer.from_pretrained(a.tokenizer).eval()
        model = Kronos.from_pretrained(a.predictor).eval()
    df = pd.read_csv(a.csv)
    df["timestamps"] = pd.to_datetime(df["timestamps"])
    ctx = df.iloc[-a.lookback:].reset_index(drop=True)
    ours = json.load(open(a.future_json))
    y_ts = pd.Series(pd.to_datetime(ours["timestamps"]))
    pred = KronosPredictor(model, tok, device="cpu", max_context=a.max_context)
    cols = ["open", "high", "low", "close", "volume", "amount"]
    t0 = time.perf_counter()
    out = pred.predict(df=ctx[cols], x_timestamp=ctx["timestamps"], y_timestamp=y_ts, pred_len=len(y_ts),
                       T=1.0, top_k=1, top_p=1.0, sample_count=a.samples, verbose=False)
    elapsed = time.perf_counter() - t0
    json.dump({
        "elapsed_s": elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "mean": out[cols].values.tolist(),
    }, sys.stdout)


def predict_batch(a):
    """Every CSV's last `lookback` bars up to `as_of`, forecast as one `predict_batch` call."""
    torch.set_num_threads(a.threads)
    torch.manual_seed(7)
    with contextlib.redirect_stdout(sys.stderr):
        tok = KronosTokenizer.from_pretrained(a.tokenizer).eval()
        model = Kronos.from_pretrained(a.predictor).eval()
    cols = ["open", "high", "low", "close", "volume", "amount"]
    dfs, xs, ys = [], [], []
    for path in a.csvs:
        df = pd.read_csv(path)
        df["timestamps"] = pd.to_datetime(df["date"])
        upto = df[df["timestamps"] <= pd.Timestamp(a.as_of)]
        ctx = upto.iloc[-a.lookback:].reset_index(drop=True)
        after = df[df["timestamps"] > pd.Timestamp(a.as_of)].iloc[:a.horizon]
        dfs.append(ctx[cols])
        xs.append(ctx["timestamps"])
        ys.append(pd.Series(after["timestamps"].values))
    pred = KronosPredictor(model, tok, device="cpu", max_context=a.max_context)
    t0 = time.perf_counter()
    out = pred.predict_batch(df_list=dfs, x_timestamp_list=xs, y_timestamp_list=ys, pred_len=a.horizon,
                             T=1.0, top_k=0, top_p=0.9, sample_count=a.samples, verbose=False)
    elapsed = time.perf_counter() - t0
    json.dump({
        "contexts": len(out),
        "elapsed_s": elapsed,
        "forecasts_per_s": len(out) / elapsed,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }, sys.stdout)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-random")
    m.add_argument("tokenizer_dir")
    m.add_argument("predictor_dir")
    m.add_argument("--shape", choices=PREDICTORS, default="small")
    f = sub.add_parser("forecast")
    for k in ["tokenizer", "predictor", "csv", "future-json"]:
        f.add_argument("--" + k, required=True)
    f.add_argument("--lookback", type=int, default=400)
    f.add_argument("--samples", type=int, default=1)
    f.add_argument("--max-context", type=int, default=512)
    f.add_argument("--threads", type=int, default=2)
    b = sub.add_parser("predict-batch")
    b.add_argument("--tokenizer", required=True)
    b.add_argument("--predictor", required=True)
    b.add_argument("--csvs", nargs="+", required=True)
    b.add_argument("--as-of", required=True)
    b.add_argument("--lookback", type=int, default=256)
    b.add_argument("--horizon", type=int, default=5)
    b.add_argument("--samples", type=int, default=8)
    b.add_argument("--max-context", type=int, default=2048)
    b.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    {"make-random": make_random, "forecast": forecast, "predict-batch": predict_batch}[a.cmd](a)


if __name__ == "__main__":
    main()
