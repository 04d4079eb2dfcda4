#!/usr/bin/env python3
"""From images to logits in PyTorch with an hpsweep model file: timm's ViT as the frozen backbone
(its blocks' outputs as the taps), then the side network of scripts/sidenet_torch.py.

    python3 scripts/predict_torch.py MODEL.safetensors IMAGES… [--weights FILE] [--out predictions.csv] [--json FILE]

IMAGES: JPEG/PNG files, folders of them, or one folder of class folders (`test/<class>/<image>`, labels
from the folder names, matched to the model's `class_names`). Everything the model file records is
honoured: the backbone's config (timm's VisionTransformer), the weights file (`backbone_path`, or
--weights; timm layout), the preprocessing (resize to the square input with PIL's bicubic filter, no
crop, then mean/std: docs/formats.md, "Preprocessing"), the taps and token policy, and the cache dtype
(taps rounded to float16 or bfloat16 as the cache stored them). The CSV has predict's first columns
(example, label, predicted, probability); --json writes every class's probability per example.

A random demo backbone (`"random": "vit-tiny-test"`) cannot be rebuilt here: it is drawn by hpsweep's
own generator. Give real weights. Needs torch, timm, safetensors, pillow, numpy
(`pip install torch==2.13.0+cpu safetensors pillow numpy; pip install --no-deps timm`).
"""
import argparse
import csv
import functools
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sidenet_torch  # noqa: E402  (the side networks, from the same folder)

EXTENSIONS = {".jpg", ".jpeg", ".png"}


def backbone(ingredients, weights_path):
    """timm's VisionTransformer with the model's recorded config and the weights file's parameters."""
    import timm.models.vision_transformer as vt

    config = ingredients["backbone"]["config"]
    if config.get("activation", "gelu") not in ("gelu", "gelu_erf"):
        raise SystemExit(f"predict_torch.py: activation {config['activation']!r} is not handled here")
    vit = vt.VisionTransformer(
        img_size=config["image_size"], patch_size=config["patch_size"], in_chans=config.get("channels", 3),
        num_classes=0, embed_dim=config["width"], depth=config["depth"], num_heads=config["heads"],
        mlp_ratio=config["mlp_ratio"], qkv_bias=True, global_pool="token",
        norm_layer=functools.partial(nn.LayerNorm, eps=float(config["layer_norm_eps"])))
    state = load_file(weights_path)
    missing, unexpected = vit.load_state_dict({k: v.float() for k, v in state.items() if not k.startswith("head.")},
                                              strict=False)
    if missing:
        raise SystemExit(f"predict_torch.py: {weights_path} lacks {missing[:3]}… (timm's layout is expected)")
    return vit.eval()


def taps_of(vit, images, wanted, policy, dtype):
    """The taps the side network reads, as hpsweep's cache holds them: z0 after the position
    embedding, z_i after block i, "norm" after the final LayerNorm; rounded to the cache's dtype."""
    out = {}
    with torch.no_grad():
        x = vit.norm_pre(vit.patch_drop(vit._pos_embed(vit.patch_embed(images))))
        found = {"z0": x}
        for i, block in enumerate(vit.blocks):
            x = block(x)
            found[f"z{i + 1}"] = x
        found["norm"] = vit.norm(x)
    for name in wanted:
        t = found[name]
        if policy == "cls":
            t = t[:, :1]
        elif policy != "all":
            raise SystemExit(f"predict_torch.py: token policy {policy!r} is not handled here")
        if dtype == "F16":
            t = t.half().float()
        elif dtype == "BF16":
            t = t.bfloat16().float()
        out[name] = t.contiguous()
    return out


def preprocess(path, size, mean, std):
    """docs/formats.md's rule: RGB, squashed to size×size with PIL's bicubic (no crop), /255, normalised."""
    image = Image.open(path).convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.BICUBIC)
    x = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255
    return (x - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(3, 1, 1)


def inputs(paths, names):
    """(file, label) pairs: a single folder of class folders is labelled by its folder names."""
    if len(paths) == 1 and os.path.isdir(paths[0]):
        entries = sorted(e for e in os.listdir(paths[0]) if not e.startswith("."))
        folders = [e for e in entries if os.path.isdir(os.path.join(paths[0], e))]
        if folders and not any(os.path.splitext(e)[1].lower() in EXTENSIONS for e in entries):
            order = names or folders
            return [(os.path.join(paths[0], c, f), order.index(c))
                    for c in folders for f in sorted(os.listdir(os.path.join(paths[0], c)))
                    if not f.startswith(".") and os.path.splitext(f)[1].lower() in EXTENSIONS]
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += [os.path.join(p, f) for f in sorted(os.listdir(p)) if os.path.splitext(f)[1].lower() in EXTENSIONS]
        else:
            files.append(p)
    return [(f, -1) for f in files]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--weights", help="the backbone's weights (default: the model's backbone_path)")
    parser.add_argument("--out", default="predictions.csv")
    parser.add_argument("--json", help="also write every class's probability per example")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()

    net = sidenet_torch.load(args.model).eval()
    meta = net.metadata
    ingredients = json.loads(meta["cache"])
    weights = args.weights or meta.get("backbone_path")
    if not weights:
        raise SystemExit("predict_torch.py: the model records no backbone file (a random demo backbone?): give --weights")
    vit = backbone(ingredients, weights)
    pre = ingredients["preprocessing"]
    size, mean, std = pre["image_size"], [float(v) for v in pre["mean"]], [float(v) for v in pre["std"]]
    names = json.loads(meta["class_names"]) if "class_names" in meta else None
    examples = inputs(args.images, names)
    probabilities = []
    for start in range(0, len(examples), args.batch):
        batch = torch.stack([preprocess(f, size, mean, std) for f, _ in examples[start:start + args.batch]])
        taps = taps_of(vit, batch, net.taps, ingredients.get("token_policy", "all"), ingredients.get("dtype", "F32"))
        with torch.no_grad():
            probabilities.append(torch.softmax(net(taps), dim=1))
    probabilities = torch.cat(probabilities).numpy()
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["example", "label", "predicted", "probability"])
        for (file, label), p in zip(examples, probabilities):
            writer.writerow([file, label if label >= 0 else "", int(p.argmax()), f"{p.max():.6g}"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"examples": [os.path.relpath(file, os.path.dirname(os.path.abspath(args.json)))
                                    for file, _ in examples],
                       "labels": [label for _, label in examples],
                       "probabilities": [[float(v) for v in p] for p in probabilities]}, f, indent=0)
    labels = np.array([label for _, label in examples])
    print(f"{args.model}: {net.method}, {len(examples)} images; predictions: {args.out}")
    if (labels >= 0).all() and len(labels):
        correct = int((probabilities.argmax(axis=1) == labels).sum())
        print(f"  accuracy {correct / len(labels):.4f} ({correct}/{len(labels)})")


if __name__ == "__main__":
    main()
