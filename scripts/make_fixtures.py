"""Makes the committed test fixtures under Tests/Fixtures (run once; tests need no Python).

    pip install torch==2.13.0+cpu numpy
    python3 scripts/make_fixtures.py

Writes
  vit_tiny_{f32,f16,bf16}.safetensors  random-weight ViT in timm names (depth 4, width 96, 3 heads,
                                       patch 8, image 32), stored in each dtype
  vit_tiny_taps.safetensors            3 fixed images and, per dtype, every tap z0..z4 and norm(z4),
                                       computed in float64 from the weights as stored
  vit_micro_timm.safetensors           a smaller ViT (depth 2, width 48, 4 heads, patch 8, image 16)
  vit_micro_hf.safetensors             the same weights under HuggingFace ViTForImageClassification names
  vit_micro_google.npz                 the same weights under Google's ViT .npz names (numpy.savez)
  vit_micro_google_deflate.npz         the same, numpy.savez_compressed
  vit_micro_taps.safetensors           its images and taps (eps 1e-6 for timm/Google, 1e-12 for HF)
  kernels.safetensors                  inputs, upstream gradients, outputs and autograd gradients of
                                       linear, layer norm, GELU, softmax, attention, cross-entropy
"""
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vit_reference import VisionTransformer  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def save_safetensors(path, tensors, dtype="F32"):
    """Minimal safetensors writer (the format: u64 header length, JSON header, raw little-endian data)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().to(DTYPES[dtype]).contiguous()
        raw = t.view(torch.int16).numpy().tobytes() if dtype == "BF16" else t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def taps_float64(model, state, images, eps):
    m = VisionTransformer(**model.cfg, eps=eps).double()
    m.load_state_dict({k: v.double() for k, v in state.items()})
    with torch.no_grad():
        return m.forward_taps(images.double())


def build(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    model = VisionTransformer(**cfg).random_init(g)
    model.cfg = cfg
    return model, g


def tiny():
    cfg = dict(image=32, patch=8, dim=96, depth=4, heads=3)
    model, g = build(cfg, 1234)
    images = torch.randn(3, 3, 32, 32, generator=g)
    out = {"images": images}
    for name, dtype in DTYPES.items():
        save_safetensors(os.path.join(OUT, f"vit_tiny_{name.lower()}.safetensors"), model.state_dict(), name)
        # The reference sees exactly the stored (rounded) weights.
        stored = {k: v.to(dtype).to(torch.float32) for k, v in model.state_dict().items()}
        taps = taps_float64(model, stored, images, 1e-6)
        for i, t in enumerate(taps[:-1]):
            out[f"{name.lower()}.z{i}"] = t.float()
        out[f"{name.lower()}.norm"] = taps[-1].float()
    save_safetensors(os.path.join(OUT, "vit_tiny_taps.safetensors"), out)


def to_huggingface(state, depth):
    hf = {
        "vit.embeddings.cls_token": state["cls_token"],
        "vit.embeddings.position_embeddings": state["pos_embed"],
        "vit.embeddings.patch_embeddings.projection.weight": state["patch_embed.proj.weight"],
        "vit.embeddings.patch_embeddings.projection.bias": state["patch_embed.proj.bias"],
        "vit.layernorm.weight": state["norm.weight"],
        "vit.layernorm.bias": state["norm.bias"],
        "classifier.weight": torch.zeros(5, state["norm.weight"].shape[0]),
        "classifier.bias": torch.zeros(5),
    }
    for i in range(depth):
        b, h = f"blocks.{i}.", f"vit.encoder.layer.{i}."
        q, k, v = state[b + "attn.qkv.weight"].chunk(3, 0)
        qb, kb, vb = state[b + "attn.qkv.bias"].chunk(3, 0)
        hf.update({
            h + "layernorm_before.weight": state[b + "norm1.weight"], h + "layernorm_before.bias": state[b + "norm1.bias"],
            h + "attention.attention.query.weight": q, h + "attention.attention.query.bias": qb,
            h + "attention.attention.key.weight": k, h + "attention.attention.key.bias": kb,
            h + "attention.attention.value.weight": v, h + "attention.attention.value.bias": vb,
            h + "attention.output.dense.weight": state[b + "attn.proj.weight"], h + "attention.output.dense.bias": state[b + "attn.proj.bias"],
            h + "layernorm_after.weight": state[b + "norm2.weight"], h + "layernorm_after.bias": state[b + "norm2.bias"],
            h + "intermediate.dense.weight": state[b + "mlp.fc1.weight"], h + "intermediate.dense.bias": state[b + "mlp.fc1.bias"],
            h + "output.dense.weight": state[b + "mlp.fc2.weight"], h + "output.dense.bias": state[b + "mlp.fc2.bias"],
        })
    return hf


def to_google(state, depth, heads):
    """Flax layout, as in Google's ViT-B_16.npz: Dense kernels (in, out), attention kernels per head."""
    n = lambda t: t.detach().numpy().astype(np.float32)
    d = state["norm.weight"].shape[0]
    dh = d // heads
    g = {
        "cls": n(state["cls_token"]),
        "embedding/kernel": n(state["patch_embed.proj.weight"].permute(2, 3, 1, 0)),   # (P, P, C, D)
        "embedding/bias": n(state["patch_embed.proj.bias"]),
        "Transformer/posembed_input/pos_embedding": n(state["pos_embed"]),
        "Transformer/encoder_norm/scale": n(state["norm.weight"]),
        "Transformer/encoder_norm/bias": n(state["norm.bias"]),
        "head/kernel": np.zeros((d, 5), np.float32), "head/bias": np.zeros(5, np.float32),
    }
    for i in range(depth):
        b, t = f"blocks.{i}.", f"Transformer/encoderblock_{i}/"
        a = t + "MultiHeadDotProductAttention_1/"
        q, k, v = state[b + "attn.qkv.weight"].chunk(3, 0)
        qb, kb, vb = state[b + "attn.qkv.bias"].chunk(3, 0)
        for name, w, bias in (("query", q, qb), ("key", k, kb), ("value", v, vb)):
            g[a + name + "/kernel"] = n(w.t().reshape(d, heads, dh))
            g[a + name + "/bias"] = n(bias.reshape(heads, dh))
        g[a + "out/kernel"] = n(state[b + "attn.proj.weight"].t().reshape(heads, dh, d))
        g[a + "out/bias"] = n(state[b + "attn.proj.bias"])
        g[t + "LayerNorm_0/scale"], g[t + "LayerNorm_0/bias"] = n(state[b + "norm1.weight"]), n(state[b + "norm1.bias"])
        g[t + "LayerNorm_2/scale"], g[t + "LayerNorm_2/bias"] = n(state[b + "norm2.weight"]), n(state[b + "norm2.bias"])
        g[t + "MlpBlock_3/Dense_0/kernel"], g[t + "MlpBlock_3/Dense_0/bias"] = n(state[b + "mlp.fc1.weight"].t()), n(state[b + "mlp.fc1.bias"])
        g[t + "MlpBlock_3/Dense_1/kernel"], g[t + "MlpBlock_3/Dense_1/bias"] = n(state[b + "mlp.fc2.weight"].t()), n(state[b + "mlp.fc2.bias"])
    return g


def micro():
    cfg = dict(image=16, patch=8, dim=48, depth=2, heads=4)
    model, g = build(cfg, 99)
    state = model.state_dict()
    images = torch.randn(2, 3, 16, 16, generator=g)
    save_safetensors(os.path.join(OUT, "vit_micro_timm.safetensors"), state)
    save_safetensors(os.path.join(OUT, "vit_micro_hf.safetensors"), to_huggingface(state, 2))
    google = to_google(state, 2, 4)
    np.savez(os.path.join(OUT, "vit_micro_google.npz"), **google)
    np.savez_compressed(os.path.join(OUT, "vit_micro_google_deflate.npz"), **google)
    out = {"images": images}
    for prefix, eps in (("timm", 1e-6), ("hf", 1e-12)):
        taps = taps_float64(model, state, images, eps)
        for i, t in enumerate(taps[:-1]):
            out[f"{prefix}.z{i}"] = t.float()
        out[f"{prefix}.norm"] = taps[-1].float()
    save_safetensors(os.path.join(OUT, "vit_micro_taps.safetensors"), out)


def kernels():
    """Each kernel on small odd shapes, in float64 autograd: inputs, dout, outputs and gradients."""
    g = torch.Generator().manual_seed(7)
    r = lambda *s: torch.randn(*s, generator=g, dtype=torch.float64)
    out = {}

    def record(prefix, inputs, fn):
        leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = fn(**leaves)
        dout = r(*y.shape)
        (y * dout).sum().backward()
        for k, v in inputs.items():
            out[f"{prefix}.{k}"] = v
            out[f"{prefix}.d{k}"] = leaves[k].grad
        out[f"{prefix}.out"] = y.detach()
        out[f"{prefix}.dout"] = dout

    # linear: (M=5, I=7) -> O=3
    record("linear", {"inp": r(5, 7), "weight": r(3, 7), "bias": r(3)}, lambda inp, weight, bias: F.linear(inp, weight, bias))
    # layer norm over 11 features, eps 1e-6, 4 rows
    record("layernorm", {"inp": 2 * r(4, 11) + 1, "weight": r(11), "bias": r(11)},
           lambda inp, weight, bias: F.layer_norm(inp, (11,), weight, bias, eps=1e-6))
    # exact GELU over a wide range, including large |x|
    record("gelu", {"inp": 3 * r(37)}, lambda inp: F.gelu(inp))
    # softmax over rows of 9, scale 0.7
    record("softmax", {"inp": 2 * r(3, 9)}, lambda inp: torch.softmax(0.7 * inp, dim=-1))

    # attention core: qkv (B=2, N=5, 3W), H=2, Dh=3 (W=6), scale Dh^-1/2
    def attention(qkv):
        B, N, H, Dh = 2, 5, 2, 3
        q, k, v = qkv.reshape(B, N, 3, H, Dh).permute(2, 0, 3, 1, 4).unbind(0)
        p = torch.softmax(q @ k.transpose(-1, -2) * Dh ** -0.5, dim=-1)
        return (p @ v).transpose(1, 2).reshape(B, N, H * Dh)
    record("attention", {"qkv": r(2, 5, 18)}, attention)

    # cross-entropy, mean over 4 rows of 6 classes, label smoothing 0.1
    labels = torch.tensor([0, 5, 2, 2])
    logits = r(4, 6) * 3
    leaf = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(leaf, labels, label_smoothing=0.1)
    loss.backward()
    out["xent.logits"], out["xent.labels"] = logits, labels.double()
    out["xent.loss"], out["xent.dlogits"] = loss.detach().reshape(1), leaf.grad
    save_safetensors(os.path.join(OUT, "kernels.safetensors"), {k: v.float() for k, v in out.items()})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    tiny()
    micro()
    kernels()
    for f in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(os.path.join(OUT, f)):>9}  Tests/Fixtures/{f}")
