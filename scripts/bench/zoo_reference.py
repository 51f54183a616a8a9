#!/usr/bin/env python3
"""The PyTorch twins of two zoo classifiers, timed per training step on the CPU: the LSTM
(torch.nn.LSTM, its fused kernel) and the pre-norm causal Transformer (RoPE, SwiGLU, RMSNorm),
each input Linear(9 -> d) -> backbone -> RMSNorm at the last bar -> Linear(d -> 3), trained
with cross-entropy, AdamW and norm clipping as kxian's loop does. Random inputs: speed does
not depend on what the bars say. Not run by CI; see scripts/bench/zoo-vs-pytorch.sh.

    zoo_reference.py --backbone lstm --d-model 64 --layers 2 --heads 4 --context 60 --batch 64
"""
import argparse
import json
import statistics
import sys
import time

import torch
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, cos, sin):
    h = x.shape[-1] // 2
    rotated = torch.cat([-x[..., h:], x[..., :h]], -1)
    return x * cos + rotated * sin


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = RMSNorm(d), RMSNorm(d)
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.w1, self.w3 = nn.Linear(d, 2 * d, bias=False), nn.Linear(d, 2 * d, bias=False)
        self.w2 = nn.Linear(2 * d, d, bias=False)

    def forward(self, x, cos, sin):
        b, l, d = x.shape
        n = self.norm1(x)
        split = lambda t: t.view(b, l, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(n)), split(self.k(n)), split(self.v(n))
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o(att.transpose(1, 2).reshape(b, l, d))
        n = self.norm2(x)
        return x + self.w2(nn.functional.silu(self.w1(n)) * self.w3(n))


class Net(nn.Module):
    def __init__(self, backbone, d, layers, heads, context):
        super().__init__()
        self.backbone = backbone
        self.input = nn.Linear(9, d)
        if backbone == "lstm":
            self.rnn = nn.LSTM(d, d, num_layers=layers, batch_first=True)
        else:
            self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
            hd = d // heads
            inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
            theta = torch.arange(context).float()[:, None] * inv[None, :]
            self.register_buffer("cos", torch.cat([theta.cos(), theta.cos()], -1))
            self.register_buffer("sin", torch.cat([theta.sin(), theta.sin()], -1))
        self.norm = RMSNorm(d)
        self.head = nn.Linear(d, 3)

    def forward(self, x):
        h = self.input(x)
        if self.backbone == "lstm":
            h, _ = self.rnn(h)
        else:
            for blk in self.blocks:
                h = blk(h, self.cos, self.sin)
        return self.head(self.norm(h[:, -1]))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--backbone", choices=["lstm", "transformer"], required=True)
    p.add_argument("--d-model", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--context", type=int, default=60)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Net(a.backbone, a.d_model, a.layers, a.heads, a.context).train()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randn(a.batch, a.context, 9)
    y = torch.randint(0, 3, (a.batch,))
    times = []
    for _ in range(a.steps + 3):
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        times.append(time.perf_counter() - t0)
    step = statistics.median(times[3:])
    json.dump(
        {
            "backbone": a.backbone,
            "samples_per_s": a.batch / step,
            "parameters": sum(p.numel() for p in net.parameters()),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
