"""Peer benchmark for `hpsweep bench sidenet NAME`: the same side network and training step in PyTorch.

    python3 scripts/bench_sidenet_torch.py NAME [--batch 64] [--rank 32] [--heads 4] [--bottleneck 32] [--reduction 8] [--backbone-heads 12] [--threads 2] [--compute fp32|bf16]

Random taps of ViT-B/16 shape (197 tokens, width 768, z0..z12), 100 classes, float32; one step =
zero_grad, forward, cross-entropy, backward, AdamW step (with --compute bf16, forward and loss under CPU
autocast to bfloat16, as PyTorch's mixed-precision recipe has it; weights and AdamW stay fp32). Networks as in scripts/make_sidenet_fixtures.py
(written from shared/METHODS.md), as nn.Modules."""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import allocator, compute_context  # noqa: E402

EPS = 1e-6


def ln(x):
    return F.layer_norm(x, (x.shape[-1],), eps=EPS)


class Head(nn.Module):
    def __init__(self, D, C):
        super().__init__()
        self.fc = nn.Linear(D, C)

    def forward(self, h):
        return self.fc(ln(h))


class LinearProbe(nn.Module):
    def __init__(self, D, L, C):
        super().__init__()
        self.L, self.head = L, Head(D, C)
        self.taps = [L]

    def forward(self, z):
        return self.head(z[self.L][:, 0])


class Adapters(nn.Module):
    def __init__(self, D, L, C, m):
        super().__init__()
        self.L = L
        self.down = nn.ModuleList([nn.Linear(D, m) for _ in range(L)])
        self.up = nn.ModuleList([nn.Linear(m, D) for _ in range(L)])
        self.head = Head(D, C)
        self.taps = list(range(1, L + 1))

    def forward(self, z):
        u = torch.zeros_like(z[1][:, 0])
        for i in range(1, self.L + 1):
            u = u + self.up[i - 1](F.gelu(self.down[i - 1](ln(u + z[i][:, 0]))))
        return self.head(u + z[self.L][:, 0])


class LAST(nn.Module):
    def __init__(self, D, L, C, R, H, g):
        super().__init__()
        self.L, self.R, self.H, self.g = L, R, H, g
        self.qkv = nn.ModuleList([nn.Linear(D, 3 * R, bias=False) for _ in range(L // g)])
        self.out = nn.ModuleList([nn.Linear(R, D, bias=False) for _ in range(L // g)])
        self.head = Head(D, C)
        self.taps = list(range(L + 1))

    def forward(self, z):
        B, N, D = z[0].shape
        u = torch.zeros_like(z[0])
        for i in range(self.L // self.g):
            x = u + z[i * self.g]
            q, k, v = self.qkv[i](ln(x)).reshape(B, N, 3, self.H, self.R // self.H).permute(2, 0, 3, 1, 4).unbind(0)
            o = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, self.R)
            u = x + self.out[i](o)
        s = u - sum(z[i * self.g] for i in range(self.L // self.g))
        return self.head((s + z[self.L])[:, 0])


class SideBlock(nn.Module):
    def __init__(self, d, H):
        super().__init__()
        self.H = H
        self.norm1, self.norm2 = nn.LayerNorm(d, eps=EPS), nn.LayerNorm(d, eps=EPS)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, h):
        B, N, d = h.shape
        q, k, v = self.qkv(self.norm1(h)).reshape(B, N, 3, self.H, d // self.H).permute(2, 0, 3, 1, 4).unbind(0)
        h = h + self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(B, N, d))
        return h + self.fc2(F.gelu(self.fc1(self.norm2(h))))


class LST(nn.Module):
    def __init__(self, D, L, C, r, H):
        super().__init__()
        d = D // r
        self.L = L
        self.down = nn.ModuleList([nn.Linear(D, d) for _ in range(L + 1)])
        self.alpha = nn.Parameter(torch.zeros(L))
        self.blocks = nn.ModuleList([SideBlock(d, H) for _ in range(L)])
        self.norm, self.up, self.head = nn.LayerNorm(d, eps=EPS), nn.Linear(d, D), nn.Linear(D, 100 if C is None else C)
        self.taps = list(range(L + 1))

    def forward(self, z):
        h = self.down[0](z[0])
        for i in range(1, self.L + 1):
            mu = torch.sigmoid(self.alpha[i - 1] / 0.1)
            h = self.blocks[i - 1](mu * h + (1 - mu) * self.down[i](z[i]))
        return self.head(self.up(self.norm(h[:, 0])))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("name", choices=["linear", "last", "lst", "adapter"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--heads", type=int, default=None)
    p.add_argument("--gap", type=int, default=1)
    p.add_argument("--bottleneck", type=int, default=32)
    p.add_argument("--reduction", type=int, default=8)
    p.add_argument("--backbone-heads", type=int, default=12)
    # The rest of the methods' hyperparameters, which hpsweep passes as it has them: the peer builds
    # only their defaults.
    p.add_argument("--modules-per-group", type=int, default=1)
    p.add_argument("--lst-init", default="random")
    p.add_argument("--layers", default=None)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--compute", default="fp32", choices=["fp32", "bf16"])
    a = p.parse_args()
    if a.modules_per_group != 1 or a.lst_init != "random" or a.layers is not None:
        sys.exit("bench_sidenet_torch.py: the peer builds modules_per_group 1, lst_init random and every layer only")
    torch.set_num_threads(a.threads)
    B, N, D, L, C = a.batch, 197, 768, 12, 100
    net = {"linear": lambda: LinearProbe(D, L, C), "adapter": lambda: Adapters(D, L, C, a.bottleneck),
           "last": lambda: LAST(D, L, C, a.rank, a.heads or 4, a.gap), "lst": lambda: LST(D, L, C, a.reduction, a.backbone_heads)}[a.name]()
    z = {i: torch.randn(B, N, D) for i in net.taps}
    labels = torch.arange(B) % C
    decay = [q for n, q in net.named_parameters() if n.endswith("weight") and "norm" not in n]
    rest = [q for n, q in net.named_parameters() if not (n.endswith("weight") and "norm" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": rest, "weight_decay": 0}], lr=1e-3)
    params = sum(q.numel() for q in net.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {a.name}, {params} parameters, batch {B}, {a.compute}, {allocator()}")
    times = []
    for step in range(a.steps + 1):
        start = time.perf_counter()
        opt.zero_grad()
        with compute_context(a.compute):
            loss = F.cross_entropy(net(z), labels)
        loss.backward()
        opt.step()
        elapsed = time.perf_counter() - start
        if step > 0:
            times.append(elapsed)
    median = statistics.median(times)
    print(f"  step: {median:.4f} s (median of {len(times)}), {1 / median:.2f} steps/s")


if __name__ == "__main__":
    main()
