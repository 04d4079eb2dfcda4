"""hpsweep's side networks in plain PyTorch, loaded from a model file (docs/formats.md).

    import sidenet_torch                       # scripts/ on sys.path
    net = sidenet_torch.load("results/demo/models/td8dc1152a8.safetensors")
    logits = net({"z0": z0, "z1": z1, ...})    # taps (B, N, D) as the cache holds them -> (B, classes)

    python3 scripts/sidenet_torch.py MODEL [--cache DIR --split NAME]   # metadata; accuracy on a cached split

Written from shared/METHODS.md like scripts/make_sidenet_fixtures.py (whose functions the Swift tests
were matched against), generalised to any shape and read from the file's metadata: `linear`, `adapter`
(side adapters), `last` (LAST), `lst` (Ladder Side-Tuning). Parameter names are the file's own.
Needs torch and safetensors (pip install torch==2.13.0+cpu safetensors numpy).
"""
import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file

EPS = 1e-6          # every LayerNorm of the side networks and heads
TEMPERATURE = 0.1   # LST's gates: sigmoid(alpha / T)


def _ln(x, weight=None, bias=None):
    return F.layer_norm(x, (x.shape[-1],), weight, bias, eps=EPS)


def _attention(x, qkv_weight, qkv_bias, heads):
    b, n, _ = x.shape
    width = qkv_weight.shape[0] // 3
    q, k, v = F.linear(x, qkv_weight, qkv_bias).reshape(b, n, 3, heads, width // heads).permute(2, 0, 3, 1, 4).unbind(0)
    o = torch.softmax(q @ k.transpose(-1, -2) / (width // heads) ** 0.5, dim=-1) @ v
    return o.transpose(1, 2).reshape(b, n, width)


class SideNetwork(nn.Module):
    """One model file's network: `forward(taps)` with taps a dict "z<i>" -> (B, N, D) tensor."""

    def __init__(self, tensors, metadata, dtype=torch.float32):
        super().__init__()
        if metadata.get("format") != "hpsweep-side-network" or metadata.get("format_version") != "1":
            raise ValueError("not an hpsweep model file of format version 1")
        self.metadata = metadata
        self.settings = json.loads(metadata["settings"])
        self.method = metadata["method"]
        self.depth = int(metadata["backbone_depth"])
        self.backbone_heads = int(metadata["backbone_heads"])
        self.taps = json.loads(metadata.get("taps", "[]"))
        self.names = sorted(tensors)
        for name in self.names:  # nn.Module names may not contain dots
            self.register_parameter(name.replace(".", "__"), nn.Parameter(tensors[name].to(dtype)))

    def p(self, name):
        return getattr(self, name.replace(".", "__"))

    def head(self, h_cls):
        # The head's LayerNorm is affine when the file has its scale and shift (norm_affine).
        affine = "head.norm.weight" in self.names
        x = _ln(h_cls, self.p("head.norm.weight"), self.p("head.norm.bias")) if affine else _ln(h_cls)
        return F.linear(x, self.p("head.weight"), self.p("head.bias"))

    def forward(self, taps):
        z = lambda i: taps[f"z{i}"]
        L, s = self.depth, self.settings
        if self.method == "linear":
            return self.head(z(L)[:, 0])
        if self.method == "adapter":
            u = torch.zeros_like(z(1)[:, 0])
            for i in range(1, L + 1):
                x = _ln(u + z(i)[:, 0])
                down = F.linear(x, self.p(f"adapters.{i}.down.weight"), self.p(f"adapters.{i}.down.bias"))
                u = u + F.linear(F.gelu(down), self.p(f"adapters.{i}.up.weight"), self.p(f"adapters.{i}.up.bias"))
            return self.head(u + z(L)[:, 0])
        if self.method == "last":
            g, T, H = s["gap"], s["modulesPerGroup"], s["heads"]
            groups = L // g
            u = torch.zeros_like(z(0))
            for i in range(1, groups + 1):
                x = u + z((i - 1) * g)
                for t in range(1, T + 1):
                    pre = f"groups.{i}.lsa.{t}"
                    x = x + F.linear(_attention(_ln(x), self.p(pre + ".qkv.weight"), None, H), self.p(pre + ".out.weight"))
                u = x
            side = u - sum(z(i * g) for i in range(groups))
            return self.head((side + z(L))[:, 0])
        if self.method == "lst":
            layers = s.get("lstLayers") or list(range(1, L + 1))
            h = F.linear(z(0), self.p("down.0.weight"), self.p("down.0.bias"))
            for i in layers:
                mu = torch.sigmoid(self.p(f"gates.{i}") / TEMPERATURE)
                h = mu * h + (1 - mu) * F.linear(z(i), self.p(f"down.{i}.weight"), self.p(f"down.{i}.bias"))
                b = f"blocks.{i}"
                d = h.shape[-1]
                x = F.layer_norm(h, (d,), self.p(b + ".norm1.weight"), self.p(b + ".norm1.bias"), eps=EPS)
                h = h + F.linear(_attention(x, self.p(b + ".attn.qkv.weight"), self.p(b + ".attn.qkv.bias"), self.backbone_heads),
                                 self.p(b + ".attn.proj.weight"), self.p(b + ".attn.proj.bias"))
                x = F.layer_norm(h, (d,), self.p(b + ".norm2.weight"), self.p(b + ".norm2.bias"), eps=EPS)
                h = h + F.linear(F.gelu(F.linear(x, self.p(b + ".mlp.fc1.weight"), self.p(b + ".mlp.fc1.bias"))),
                                 self.p(b + ".mlp.fc2.weight"), self.p(b + ".mlp.fc2.bias"))
            x = F.layer_norm(h, (h.shape[-1],), self.p("norm.weight"), self.p("norm.bias"), eps=EPS)
            return F.linear(F.linear(x, self.p("up.weight"), self.p("up.bias"))[:, 0], self.p("head.weight"), self.p("head.bias"))
        raise ValueError(f"unknown method {self.method!r}")


def load(path, dtype=torch.float32):
    """The network of a model file, its parameters as nn.Parameters (trainable further in PyTorch)."""
    with safe_open(path, "pt") as f:
        metadata = f.metadata()
    return SideNetwork(load_file(path), metadata, dtype)


def read_cache(directory, split, taps):
    """Taps (examples, N, D) as float32 and labels of one split of an hpsweep cache (docs/cache-format.md)."""
    header = json.load(open(os.path.join(directory, "header.json")))
    kind = {"F16": "<f2", "F32": "<f4", "BF16": "<u2"}[header["dtype"]]
    out, labels = {}, None
    for a in header["arrays"]:
        if a["split"] != split:
            continue
        if a["tap"] == "labels":
            labels = np.fromfile(os.path.join(directory, a["file"]), dtype="<i8")
        elif a["tap"] in taps:
            x = np.memmap(os.path.join(directory, a["file"]), dtype=kind, mode="r", shape=tuple(a["shape"]))
            x = (x.astype(np.uint32) << 16).view(np.float32) if header["dtype"] == "BF16" else x.astype(np.float32)
            out[a["tap"]] = torch.from_numpy(np.ascontiguousarray(x))
    return out, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--cache")
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    net = load(args.model).eval()
    m = net.metadata
    print(f"{args.model}: {net.method}, {m['classes']} classes, taps {net.taps}, trial {m.get('trial')}, test_acc {m.get('test_acc')}")
    if args.cache:
        taps, labels = read_cache(args.cache, args.split, set(net.taps))
        with torch.no_grad():
            predicted = net(taps).argmax(dim=1).numpy()
        print(f"  {args.split}: accuracy {(predicted == labels).mean():.4f} ({(predicted == labels).sum()}/{len(labels)})")


if __name__ == "__main__":
    main()
