#!/usr/bin/env python3
"""Writes a set of Kronos parity fixtures with the reference implementation.

The reference is the upstream Kronos model code (shiyu-coder/Kronos, MIT) as the PyPI package
kronos-finance vendors it. This script builds a tokenizer and a predictor with the released
structure (random weights, a fixed seed), saves them with the reference's own save_pretrained,
and records what the reference computes on a context of real bars: normalisation, calendar
features, tokenizer ids and reconstructions, loss terms, predictor logits, and arg-max
forecasts through the reference's own generation loop (captured step by step by wrapping the
model's decode calls, so the loop itself is the reference's). shared/tests/model_parity.rs
compares the Rust port with every number written here.

Run it through scripts/parity/make-fixtures.sh, which pins the packages. With --checkpoints it
loads existing checkpoints instead of building random ones, which lets one check this script
against another fixture set made from the same weights.
"""

import argparse
import hashlib
import json
import pathlib
import sys

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

import kronos_finance
from kronos_finance._vendor import kronos_model
from kronos_finance._vendor.kronos_model import Kronos, KronosPredictor, KronosTokenizer
from kronos_finance._vendor.kronos_model.kronos import calc_time_stamps

COLUMNS = ["open", "high", "low", "close", "volume", "amount"]
TIME_ORDER = ["minute", "hour", "weekday", "day", "month"]
EPS = 1e-5
CLIP = 5.0

# The released structure at two sizes: "mini" is Kronos-mini with Kronos-Tokenizer-2k; "tiny"
# keeps every part (two blocks per stack, four heads, learned time embeddings, dropout where
# the release has it) with small widths and 6+6 bits, so its files stay a few hundred kB.
PRESETS = {
    "mini": (
        dict(d_in=6, d_model=256, n_heads=4, ff_dim=512, n_enc_layers=4, n_dec_layers=4,
             ffn_dropout_p=0.0, attn_dropout_p=0.0, resid_dropout_p=0.0, s1_bits=10,
             s2_bits=10, beta=0.05, gamma0=1.0, gamma=1.1, zeta=0.05, group_size=5),
        dict(s1_bits=10, s2_bits=10, n_layers=4, d_model=256, n_heads=4, ff_dim=512,
             ffn_dropout_p=0.2, attn_dropout_p=0.0, resid_dropout_p=0.2, token_dropout_p=0.0,
             learn_te=True),
    ),
    "tiny": (
        dict(d_in=6, d_model=32, n_heads=4, ff_dim=64, n_enc_layers=3, n_dec_layers=3,
             ffn_dropout_p=0.0, attn_dropout_p=0.0, resid_dropout_p=0.0, s1_bits=6,
             s2_bits=6, beta=0.05, gamma0=1.0, gamma=1.1, zeta=0.05, group_size=4),
        dict(s1_bits=6, s2_bits=6, n_layers=2, d_model=32, n_heads=4, ff_dim=64,
             ffn_dropout_p=0.2, attn_dropout_p=0.0, resid_dropout_p=0.2, token_dropout_p=0.0,
             learn_te=True),
    ),
}


def floats(a):
    """A float32 array as nested lists of Python floats (each prints back to the same f32)."""
    return np.asarray(a, dtype=np.float32).astype(np.float64).tolist()


def top2_margin(logits):
    top = torch.topk(logits.float(), 2).values
    return float(top[0] - top[1])


def vendored_sources():
    root = pathlib.Path(kronos_model.__file__).parent
    out = {}
    for name in ("kronos.py", "module.py"):
        text = (root / name).read_bytes().replace(b"\r\n", b"\n")
        out[name] = hashlib.sha256(text).hexdigest()
    return out


def build_models(args):
    if args.checkpoints:
        base = pathlib.Path(args.checkpoints)
        tok = KronosTokenizer.from_pretrained(str(base / args.tokenizer_dir))
        model = Kronos.from_pretrained(str(base / args.predictor_dir))
    else:
        tok_cfg, model_cfg = PRESETS[args.preset]
        torch.manual_seed(args.seed)
        tok = KronosTokenizer(**tok_cfg)
        model = Kronos(**model_cfg)
    tok.eval()
    model.eval()
    return tok, model


def model_configs(tok, model):
    tok_keys = ["d_in", "d_model", "n_heads", "ff_dim", "n_enc_layers", "n_dec_layers",
                "ffn_dropout_p", "attn_dropout_p", "resid_dropout_p", "s1_bits", "s2_bits",
                "beta", "gamma0", "gamma", "zeta", "group_size"]
    model_keys = ["s1_bits", "s2_bits", "n_layers", "d_model", "n_heads", "ff_dim",
                  "ffn_dropout_p", "attn_dropout_p", "resid_dropout_p", "token_dropout_p",
                  "learn_te"]
    # The hub mixin keeps the constructor's arguments: the config.json it writes.
    return ({k: tok._hub_mixin_config[k] for k in tok_keys},
            {k: model._hub_mixin_config[k] for k in model_keys})


def tokenizer_outputs(tok, x_norm):
    """Encoder output, unit vectors, ids, eval-mode forward and its loss terms, decode."""
    x = torch.from_numpy(x_norm)[None]
    with torch.no_grad():
        z = tok.embed(x)
        for layer in tok.encoder:
            z = layer(z)
        z_pre_quant = tok.quant_embed(z)
        z_unit = F.normalize(z_pre_quant, dim=-1)
        s1, s2 = tok.encode(x, half=True)

        (rec_pre, rec_all), bsq_total, quantized, _ = tok(x)
        bsq = tok.tokenizer.bsq
        per_sample, codebook, _ = bsq.soft_entropy_loss(z_unit)
        commit = bsq.beta * torch.mean(((quantized - z_unit) ** 2).sum(dim=-1))
        total = commit + bsq.zeta * (bsq.gamma0 * per_sample - bsq.gamma * codebook)
        assert torch.allclose(total, bsq_total, rtol=1e-6, atol=1e-7), (total, bsq_total)
        decoded = tok.decode([s1, s2], half=True)

    min_abs = z_unit[0].abs().min(dim=-1).values
    near = [int(i) for i in torch.nonzero(min_abs < 1e-4).flatten()]
    encode = {
        "s1_ids": s1[0].tolist(),
        "s2_ids": s2[0].tolist(),
        "min_abs_unit_z": float(min_abs.min()),
        "min_abs_unit_z_per_position": floats(min_abs),
        "positions_with_min_abs_unit_z_below_1em4": near,
        "note": "half=True; bit i of an id = (component i of the half >= 0); LSB = first component",
    }
    losses = {
        "bsq_loss_total": float(bsq_total),
        "commit_loss": float(commit),
        "per_sample_entropy": float(per_sample),
        "codebook_entropy": float(codebook),
        "recon_mse_pre": float(F.mse_loss(rec_pre, x)),
        "recon_mse_all": float(F.mse_loss(rec_all, x)),
        "note": "eval-mode tokenizer.forward on x_norm; "
                "bsq_loss_total = commit + zeta*(gamma0*per_sample - gamma*codebook)",
    }
    tensors = {
        "x_norm": x[0],
        "z_pre_quant": z_pre_quant[0],
        "z_unit": z_unit[0],
        "s1_ids": s1[0],
        "s2_ids": s2[0],
        "forward_z_pre": rec_pre[0],
        "forward_z": rec_all[0],
        "quantized": quantized[0],
        "decode_recon": decoded[0],
    }
    return (s1, s2), encode, losses, tensors


def predictor_outputs(model, ids, stamp):
    """Logits on the context, the first step, and the teacher-forced training pass."""
    s1, s2 = ids
    st = torch.from_numpy(stamp)[None]
    with torch.no_grad():
        s1_logits, context = model.decode_s1(s1, s2, st)
        first_s1 = s1_logits[0, -1]
        s1_arg = int(first_s1.argmax())
        first_s2 = model.decode_s2(context, torch.tensor([[s1_arg]]))[0, -1]

        # Training semantics (causal dependency layer) with dropout off, so the logits are
        # deterministic: teacher forcing on the context, inputs [:-1], targets [1:].
        model.train()
        saved = []
        for m in model.modules():
            if isinstance(m, torch.nn.Dropout):
                saved.append((m, "p", m.p))
                m.p = 0.0
            if hasattr(m, "attn_dropout_p"):
                saved.append((m, "attn_dropout_p", m.attn_dropout_p))
                m.attn_dropout_p = 0.0
        tf_s1, tf_s2 = model(s1[:, :-1], s2[:, :-1], st[:, :-1], use_teacher_forcing=True,
                             s1_targets=s1[:, 1:])
        ce, ce_s1, ce_s2 = model.head.compute_loss(tf_s1, tf_s2, s1[:, 1:], s2[:, 1:])
        for m, attr, value in saved:
            setattr(m, attr, value)
        model.eval()

    first = {
        "s1_logits": floats(first_s1),
        "s1_argmax": s1_arg,
        "s2_logits": floats(first_s2),
        "s2_argmax": int(first_s2.argmax()),
        "s1_top2_margin": top2_margin(first_s1),
        "s2_top2_margin": top2_margin(first_s2),
    }
    train_ce = {
        "ce": float(ce),
        "ce_s1": float(ce_s1),
        "ce_s2": float(ce_s2),
        "note": "train-mode masks, dropout set to 0, teacher forcing on context tokens: "
                "inputs [:-1], targets [1:]",
    }
    tensors = {
        "stamp": st[0],
        "s1_logits_context": s1_logits[0],
        "context_hidden_last": context[0, -1],
        "first_s1_logits": first_s1,
        "first_s2_logits": first_s2,
        "train_tf_s1_logits": tf_s1[0],
        "train_tf_s2_logits": tf_s2[0],
    }
    return first, train_ce, tensors


class Recorder:
    """Wraps the model's and tokenizer's calls that the reference loop makes, to see each step."""

    def __init__(self, tok, model):
        self.tok, self.model = tok, model
        self.s1_logits, self.s2_logits, self.s1_chosen = [], [], []
        self.decoded = None

    def __enter__(self):
        decode_s1, decode_s2, decode = self.model.decode_s1, self.model.decode_s2, self.tok.decode

        def rec_s1(*a, **k):
            logits, context = decode_s1(*a, **k)
            self.s1_logits.append(logits[0, -1].clone())
            return logits, context

        def rec_s2(context, s1_ids, *a, **k):
            logits = decode_s2(context, s1_ids, *a, **k)
            self.s1_chosen.append(int(s1_ids.flatten()[0]))
            self.s2_logits.append(logits[0, -1].clone())
            return logits

        def rec_decode(x, half=False):
            out = decode(x, half)
            self.decoded = ([int(v) for v in x[0][0]], [int(v) for v in x[1][0]], out[0].clone())
            return out

        self.model.decode_s1, self.model.decode_s2, self.tok.decode = rec_s1, rec_s2, rec_decode
        return self

    def __exit__(self, *exc):
        for obj, name in ((self.model, "decode_s1"), (self.model, "decode_s2"),
                          (self.tok, "decode")):
            del obj.__dict__[name]


def forecast_case(tok, model, history, future_times, horizon, max_context):
    predictor = KronosPredictor(model, tok, device="cpu", max_context=max_context, clip=CLIP)
    x_ts = pd.Series(pd.to_datetime(history["timestamps"]))
    y_ts = pd.Series(pd.to_datetime(future_times))
    with Recorder(tok, model) as rec:
        pred = predictor.predict(history[COLUMNS], x_ts, y_ts, pred_len=horizon, T=1.0,
                                 top_k=1, top_p=1.0, sample_count=1, verbose=False)
    window_s1, window_s2, decoded = rec.decoded
    s1_ids = window_s1[-horizon:]
    s2_ids = window_s2[-horizon:]
    assert len(rec.s1_logits) == horizon == len(rec.s2_logits)
    for i in range(horizon):
        assert s1_ids[i] == rec.s1_chosen[i] == int(rec.s1_logits[i].argmax()), i
        assert s2_ids[i] == int(rec.s2_logits[i].argmax()), i
    generated = {
        "s1_ids": s1_ids,
        "s2_ids": s2_ids,
        "s1_top2_margin": [top2_margin(v) for v in rec.s1_logits],
        "s2_top2_margin": [top2_margin(v) for v in rec.s2_logits],
        "decode_window_len": len(window_s1),
        "decode_window_s1": window_s1,
        "decode_window_s2": window_s2,
        "note": "decode_window_* = exactly the token window handed to tokenizer.decode "
                "(last min(context+pred_len, max_context) tokens of context+generated)",
    }
    prediction = {
        "columns": COLUMNS,
        "timestamps": list(future_times),
        "ohlcva": floats(pred[COLUMNS].values),
        "normalized": floats(decoded[-horizon:]),
    }
    return generated, prediction


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder to write the set into")
    ap.add_argument("--csv", required=True, help="bars: timestamps,open,high,low,close,volume,amount")
    ap.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--context", type=int, default=128, help="history bars, from the first row")
    ap.add_argument("--case", action="append", metavar="HORIZON:MAX_CONTEXT",
                    help="a forecast to record (repeatable); default 30:2048 and 120:160")
    ap.add_argument("--checkpoints", help="load the tokenizer and predictor from this folder")
    ap.add_argument("--tokenizer-dir", default="tokenizer")
    ap.add_argument("--predictor-dir", default="predictor")
    ap.add_argument("--prefix", default=None, help="fixture file prefix (default: the preset)")
    args = ap.parse_args()
    cases = [tuple(int(v) for v in c.split(":")) for c in (args.case or ["30:2048", "120:160"])]
    prefix = args.prefix or args.preset
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    tok, model = build_models(args)
    if not args.checkpoints:
        for m, folder in ((tok, args.tokenizer_dir), (model, args.predictor_dir)):
            m.save_pretrained(str(out / folder))
            # The hub mixin's placeholder card says nothing; the set's README says what it is.
            (out / folder / "README.md").unlink(missing_ok=True)
    tok_cfg, model_cfg = model_configs(tok, model)

    bars = pd.read_csv(args.csv)
    ctx = args.context
    history = bars.iloc[:ctx].reset_index(drop=True)
    x = history[COLUMNS].values.astype(np.float32)
    mean, std = np.mean(x, axis=0), np.std(x, axis=0)
    x_norm = np.clip((x - mean) / (std + EPS), -CLIP, CLIP).astype(np.float32)
    x_stamp = calc_time_stamps(pd.Series(pd.to_datetime(history["timestamps"])))
    x_stamp = x_stamp.values.astype(np.float32)

    ids, encode, losses, tok_tensors = tokenizer_outputs(tok, x_norm)
    first, train_ce, pred_tensors = predictor_outputs(model, ids, x_stamp)
    tensors_file = f"{prefix}_ctx{ctx}_tensors.safetensors"
    tensors = {k: v.detach().clone().contiguous() for k, v in {**tok_tensors, **pred_tensors}.items()}
    save_file(tensors, str(out / tensors_file))

    written = []
    for horizon, max_context in cases:
        future = bars["timestamps"].iloc[ctx:ctx + horizon].tolist()
        assert len(future) == horizon, f"the CSV has fewer than {ctx + horizon} rows"
        y_stamp = calc_time_stamps(pd.Series(pd.to_datetime(future))).values.astype(np.int64)
        generated, prediction = forecast_case(tok, model, history, future, horizon, max_context)
        doc = {
            "description": f"Kronos parity fixture: random-init weights (seed {args.seed}), "
                           "deterministic forecast T=1, top_k=1, top_p=1, sample_count=1, "
                           "modules in eval mode; made by scripts/parity/make-fixtures.py",
            "config": args.preset,
            "tokenizer_checkpoint": args.tokenizer_dir,
            "model_checkpoint": args.predictor_dir,
            "tokenizer_config": tok_cfg,
            "model_config": model_cfg,
            "max_context": max_context,
            "clip": CLIP,
            "context_len": ctx,
            "pred_len": horizon,
            "sampling": {"T": 1.0, "top_k": 1, "top_p": 1.0, "sample_count": 1},
            "input": {
                "columns": COLUMNS,
                "timestamps": history["timestamps"].tolist(),
                "ohlcva": floats(x),
                "y_timestamps": future,
            },
            "normalization": {
                "mean": floats(mean),
                "std": floats(std),
                "eps": EPS,
                "note": "std is population std (ddof=0), float32 numpy; "
                        "x_norm=clip((x-mean)/(std+eps),-5,5)",
            },
            "x_norm": floats(x_norm),
            "time_features": {
                "order": TIME_ORDER,
                "x_stamp": x_stamp.astype(np.int64).tolist(),
                "y_stamp": y_stamp.tolist(),
            },
            "tokenizer_encode": encode,
            "first_step": first,
            "generated": generated,
            "prediction": prediction,
            "tokenizer_losses": losses,
            "predictor_train_ce": train_ce,
        }
        name = f"{prefix}_ctx{ctx}_h{horizon}.json"
        (out / name).write_text(json.dumps(doc) + "\n")
        written.append({"file": name, "horizon": horizon, "max_context": max_context})

    manifest = {
        "description": "Kronos parity fixtures made by the reference implementation",
        "generator": "scripts/parity/make-fixtures.py " + " ".join(sys.argv[1:]),
        "reference": {
            "package": f"kronos-finance {kronos_finance.__version__}",
            "vendors": "shiyu-coder/Kronos model/kronos.py and model/module.py (MIT)",
            "sources_sha256": vendored_sources(),
            "torch": torch.__version__,
        },
        "seed": args.seed,
        "preset": args.preset,
        "context_len": ctx,
        "tokenizer": args.tokenizer_dir,
        "predictor": args.predictor_dir,
        "tensors": tensors_file,
        "cases": written,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {out}: {', '.join(c['file'] for c in written)}, {tensors_file}")


if __name__ == "__main__":
    main()
