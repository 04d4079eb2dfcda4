#!/usr/bin/env python3
"""Fixtures for the ViT families hpsweep reads from timm checkpoints (issue 19), made with timm itself.

For each family a tiny random timm model (the family's timm constructor with small sizes), every
parameter perturbed so that LayerNorm, bias, gamma and register mistakes show, saved as F32 safetensors
under timm's names; and, in float64 through timm's own modules, the taps hpsweep caches: z0 (the blocks'
input: after the position embedding and norm_pre), z1..zL, and the final norm.

  Tests/Fixtures/families/<family>.safetensors        the weights (timm state dict, F32)
  Tests/Fixtures/families/<family>_taps.safetensors   images, z0..zL, norm (float64 stored as F32)

With transformers too, the same for HuggingFace's names: hf_dinov2 (Dinov2Model; transformers 5's
names, and hf_dinov2_legacy with the transformers-4 names hub files use), hf_dinov2_reg4
(Dinov2WithRegistersModel: the registers after the class token, without a position), hf_clip
(CLIPVisionModel, QuickGELU).

Families: dinov2 (layer scale, class position), dinov2_reg4 (registers, no class position),
clip (norm_pre, no patch bias, LayerNorm eps 1e-5), clip_quickgelu, deit3 (no class position, layer
scale), and dinov2_resized (the dinov2 weights run at a larger image: the position embedding resampled
by timm's resample_abs_pos_embed, through dynamic_img_size).

Needs torch and timm (pip install torch==2.13.0+cpu; timm --no-deps), once; tests need no Python.
"""
import os, sys
import torch
import timm

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import save_safetensors   # (F32 by default)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "families")
SMALL = dict(embed_dim=32, depth=2, num_heads=2)
FAMILIES = {
    "dinov2": ("vit_small_patch14_dinov2", dict(img_size=21, patch_size=7)),
    "dinov2_reg4": ("vit_small_patch14_reg4_dinov2", dict(img_size=21, patch_size=7)),
    "clip": ("vit_base_patch16_clip_224", dict(img_size=24, patch_size=8)),
    "clip_quickgelu": ("vit_base_patch16_clip_quickgelu_224", dict(img_size=24, patch_size=8)),
    "deit3": ("deit3_small_patch16_224", dict(img_size=24, patch_size=8)),
}


def perturb(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))          # layer scale far from 1e-5 and 1
            elif p.dim() == 1 and "norm" in name and name.endswith("weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.add_(0.05 * torch.randn(p.shape, generator=g))


def taps(model, images):
    m = model.double().eval()
    with torch.no_grad():
        x = m.patch_embed(images.double())
        x = m._pos_embed(x)
        x = m.norm_pre(x)
        out = {"z0": x}
        for i, block in enumerate(m.blocks):
            x = block(x)
            out[f"z{i + 1}"] = x
        out["norm"] = m.norm(x)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for k, (family, (name, sizes)) in enumerate(FAMILIES.items()):
        g = torch.Generator().manual_seed(100 + k)
        torch.manual_seed(100 + k)   # timm's own initialisation draws from the global generator
        model = timm.create_model(name, pretrained=False, num_classes=0, **SMALL, **sizes)
        perturb(model, g)
        state = {n: t for n, t in model.state_dict().items() if not n.startswith("head")}
        save_safetensors(os.path.join(OUT, f"{family}.safetensors"), state)
        size = sizes["img_size"]
        images = torch.randn(2, 3, size, size, generator=g)
        result = taps(model, images)
        save_safetensors(os.path.join(OUT, f"{family}_taps.safetensors"), {"images": images, **result})
        print(family, name, {n: list(t.shape) for n, t in result.items() if n in ("z0", "norm")}, "eps", model.norm.eps,
              "act", type(model.blocks[0].mlp.act).__name__)
        if family == "dinov2":
            # The same weights at 35 px (grid 5 instead of 3): timm resamples the position embedding.
            resized = timm.create_model(name, pretrained=False, num_classes=0, dynamic_img_size=True, **SMALL, **sizes)
            resized.load_state_dict(model.float().state_dict())
            images = torch.randn(2, 3, 35, 35, generator=g)
            out = taps(resized, images)
            save_safetensors(os.path.join(OUT, "dinov2_resized_taps.safetensors"), {"images": images, **out})
            print("dinov2_resized", list(out["z0"].shape))


def huggingface():
    """The HuggingFace names of DINOv2 (transformers 5's, and the hub's transformers-4 names) and CLIP."""
    from transformers import (CLIPVisionConfig, CLIPVisionModel, Dinov2Config, Dinov2Model,
                              Dinov2WithRegistersConfig, Dinov2WithRegistersModel)
    torch.manual_seed(7)
    small = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128)
    models = {
        "hf_dinov2": Dinov2Model(Dinov2Config(image_size=21, patch_size=7, **small)),
        "hf_dinov2_reg4": Dinov2WithRegistersModel(Dinov2WithRegistersConfig(image_size=21, patch_size=7, num_register_tokens=4, **small)),
        "hf_clip": CLIPVisionModel(CLIPVisionConfig(image_size=24, patch_size=8, **small)),   # hidden_act quick_gelu
    }
    for k, (family, model) in enumerate(models.items()):
        g = torch.Generator().manual_seed(200 + k)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith("lambda1"):
                    p.copy_(0.5 + torch.rand(p.shape, generator=g))
                elif p.dim() == 1 and ("norm" in name or "layrnorm" in name) and name.endswith("weight"):
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
                else:
                    p.add_(0.05 * torch.randn(p.shape, generator=g))
        state = {n: t for n, t in model.state_dict().items() if "mask_token" not in n}
        save_safetensors(os.path.join(OUT, f"{family}.safetensors"), state)
        if family == "hf_dinov2":
            legacy = {}
            for n, t in state.items():
                n = n.replace("attention.q_proj", "attention.attention.query").replace("attention.k_proj", "attention.attention.key")
                n = n.replace("attention.v_proj", "attention.attention.value").replace("attention.o_proj", "attention.output.dense")
                legacy[n] = t
            save_safetensors(os.path.join(OUT, "hf_dinov2_legacy.safetensors"), legacy)
        size = model.config.image_size
        images = torch.randn(2, 3, size, size, generator=g)
        m = model.double().eval()
        with torch.no_grad():
            out = m(pixel_values=images.double(), output_hidden_states=True)
        hidden = out.hidden_states
        result = {f"z{i}": h for i, h in enumerate(hidden)}
        post = getattr(getattr(m, "vision_model", m), "post_layernorm", None)
        result["norm"] = post(hidden[-1]) if family == "hf_clip" else out.last_hidden_state
        save_safetensors(os.path.join(OUT, f"{family}_taps.safetensors"), {"images": images, **result})
        print(family, list(hidden[0].shape), len(hidden))


if __name__ == "__main__":
    main()
    huggingface()
