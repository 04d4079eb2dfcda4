"""Side networks re-implemented in PyTorch straight from shared/METHODS.md, run forward + backward on a
fixed small batch, and 20 AdamW steps; the Swift tests match these dumps (no Python at test time).

    pip install torch==2.13.0+cpu numpy
    python3 scripts/make_sidenet_fixtures.py

Writes Tests/Fixtures/sidenets.safetensors with, per network `<net>`:
  <net>.param.<name>   the parameters (random, none zero, so every gradient path is exercised)
  <net>.grad.<name>    d loss / d parameter
  <net>.logits, <net>.loss, <net>.adamw_losses (losses before each of 20 AdamW steps)
and the shared input: taps.z0 … taps.z4 (B, N, D), labels.
Parameter names and shapes follow the Swift layouts (Linear weights stored (out, in)).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import save_safetensors  # noqa: E402

torch.manual_seed(0)
B, N, D, L, C = 3, 5, 8, 4, 3
EPS = 1e-6
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "sidenets.safetensors")

taps = {f"z{i}": torch.randn(B, N, D, dtype=torch.float64) for i in range(L + 1)}
labels = torch.tensor([0, 2, 1])


def ln(x):
    return F.layer_norm(x, (x.shape[-1],), eps=EPS)  # no affine parameters


def head(p, h_cls):
    return F.linear(ln(h_cls), p["head.weight"], p["head.bias"])


def linear_net(p):
    return head(p, taps[f"z{L}"][:, 0])


def adapter_net(p, m=3):
    u = torch.zeros(B, D, dtype=torch.float64)
    for i in range(1, L + 1):
        x = ln(u + taps[f"z{i}"][:, 0])
        u = u + F.linear(F.gelu(F.linear(x, p[f"adapters.{i}.down.weight"], p[f"adapters.{i}.down.bias"])),
                         p[f"adapters.{i}.up.weight"], p[f"adapters.{i}.up.bias"])
    return head(p, u + taps[f"z{L}"][:, 0])


def lsa(x, qkv_w, out_w, R, H):
    qkv = F.linear(ln(x), qkv_w).reshape(B, N, 3, H, R // H).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    o = torch.softmax(q @ k.transpose(-1, -2) / (R // H) ** 0.5, dim=-1) @ v
    return x + F.linear(o.transpose(1, 2).reshape(B, N, R), out_w)


def last_net(p, R=4, H=2, g=2, T=2):
    m = L // g
    u = torch.zeros(B, N, D, dtype=torch.float64)
    for i in range(1, m + 1):
        x = u + taps[f"z{(i - 1) * g}"]
        for t in range(1, T + 1):
            x = lsa(x, p[f"groups.{i}.lsa.{t}.qkv.weight"], p[f"groups.{i}.lsa.{t}.out.weight"], R, H)
        u = x
    s = u - sum(taps[f"z{i * g}"] for i in range(m))
    return head(p, (s + taps[f"z{L}"])[:, 0])


def side_block(p, pre, h, heads):
    """timm's pre-norm Block at the side width (affine LayerNorms, exact GELU)."""
    Bn, Nn, d = h.shape
    x = F.layer_norm(h, (d,), p[pre + ".norm1.weight"], p[pre + ".norm1.bias"], eps=EPS)
    qkv = F.linear(x, p[pre + ".attn.qkv.weight"], p[pre + ".attn.qkv.bias"]).reshape(Bn, Nn, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv.unbind(0)
    o = (torch.softmax(q @ k.transpose(-1, -2) / (d // heads) ** 0.5, dim=-1) @ v).transpose(1, 2).reshape(Bn, Nn, d)
    h = h + F.linear(o, p[pre + ".attn.proj.weight"], p[pre + ".attn.proj.bias"])
    x = F.layer_norm(h, (d,), p[pre + ".norm2.weight"], p[pre + ".norm2.bias"], eps=EPS)
    return h + F.linear(F.gelu(F.linear(x, p[pre + ".mlp.fc1.weight"], p[pre + ".mlp.fc1.bias"])), p[pre + ".mlp.fc2.weight"], p[pre + ".mlp.fc2.bias"])


LST_LAYERS, LST_D, LST_HEADS, TEMPERATURE = (2, 4), 4, 2, 0.1


def lst_net(p):
    h = F.linear(taps["z0"], p["down.0.weight"], p["down.0.bias"])
    for i in LST_LAYERS:
        mu = torch.sigmoid(p[f"gates.{i}"] / TEMPERATURE)
        h = mu * h + (1 - mu) * F.linear(taps[f"z{i}"], p[f"down.{i}.weight"], p[f"down.{i}.bias"])
        h = side_block(p, f"blocks.{i}", h, LST_HEADS)
    x = F.layer_norm(h, (LST_D,), p["norm.weight"], p["norm.bias"], eps=EPS)
    return F.linear(F.linear(x, p["up.weight"], p["up.bias"])[:, 0], p["head.weight"], p["head.bias"])


def shapes(net):
    s = {"head.weight": (C, D), "head.bias": (C,)}
    if net == "lst":
        d = LST_D
        s.update({"down.0.weight": (d, D), "down.0.bias": (d,), "norm.weight": (d,), "norm.bias": (d,),
                  "up.weight": (D, d), "up.bias": (D,)})
        for i in LST_LAYERS:
            b = f"blocks.{i}"
            s.update({f"down.{i}.weight": (d, D), f"down.{i}.bias": (d,), f"gates.{i}": (1,),
                      b + ".norm1.weight": (d,), b + ".norm1.bias": (d,), b + ".attn.qkv.weight": (3 * d, d), b + ".attn.qkv.bias": (3 * d,),
                      b + ".attn.proj.weight": (d, d), b + ".attn.proj.bias": (d,), b + ".norm2.weight": (d,), b + ".norm2.bias": (d,),
                      b + ".mlp.fc1.weight": (4 * d, d), b + ".mlp.fc1.bias": (4 * d,), b + ".mlp.fc2.weight": (d, 4 * d),
                      b + ".mlp.fc2.bias": (d,)})
    if net == "adapter":
        for i in range(1, L + 1):
            s.update({f"adapters.{i}.down.weight": (3, D), f"adapters.{i}.down.bias": (3,),
                      f"adapters.{i}.up.weight": (D, 3), f"adapters.{i}.up.bias": (D,)})
    if net == "last":
        for i in range(1, 3):
            for t in range(1, 3):
                s.update({f"groups.{i}.lsa.{t}.qkv.weight": (12, D), f"groups.{i}.lsa.{t}.out.weight": (D, 4)})
    return s


NETS = {"linear": linear_net, "adapter": adapter_net, "last": last_net, "lst": lst_net}
DECAY = lambda name: name.endswith("weight")


def run(net, fn, out):
    params = {k: (0.3 * torch.randn(*v, dtype=torch.float64)).requires_grad_(True) for k, v in shapes(net).items()}
    for k, v in params.items():
        out[f"{net}.param.{k}"] = v.detach().clone()
    logits = fn(params)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out[f"{net}.logits"], out[f"{net}.loss"] = logits.detach(), loss.detach().reshape(1)
    for k, v in params.items():
        out[f"{net}.grad.{k}"] = v.grad.detach().clone()
    # 20 AdamW steps on the same batch: decoupled weight decay on weights only.
    groups = [{"params": [v for k, v in params.items() if DECAY(k)], "weight_decay": 0.1},
              {"params": [v for k, v in params.items() if not DECAY(k)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
    losses = []
    for _ in range(20):
        opt.zero_grad()
        loss = F.cross_entropy(fn(params), labels)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    out[f"{net}.adamw_losses"] = torch.tensor(losses, dtype=torch.float64)


if __name__ == "__main__":
    out = {f"taps.{k}": v for k, v in taps.items()}
    out["labels"] = labels.double()
    for net, fn in NETS.items():
        run(net, fn, out)
    save_safetensors(OUT, {k: v.float() for k, v in out.items()})
    print(OUT, len(out), "tensors")
