"""Writes a synthetic task in VTAB-1k's NOAH layout at full scale, for measuring what a real task costs
(docs/benchmarks.md, "A VTAB-1k-shaped task end to end"): 1,000 distinct 224 × 224 PNG images in
train800 (800) and val200 (200), their union train800val200, and a test split of TEST images, each
image a class-dependent pattern with noise (so the side networks have something to learn), plus random
ViT-B/16 weights (timm names) and the sweep file that runs all four methods on it.

    python3 scripts/make_vtab_shaped_task.py OUT_DIR [--test 5000] [--classes 10]
    swift build -c release && .build/release/hpsweep run OUT_DIR/sweep.json --results OUT_DIR/results

Needs numpy only (the PNGs are written with zlib).
"""
import json
import os
import struct
import sys
import zlib

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_method_defaults import write_random_vit_b16  # noqa: E402

SIZE = 224


def png(path, pixels):
    """pixels: (H, W, 3) uint8, written as an 8-bit RGB PNG."""
    height, width, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def image(rng, label, classes):
    """A grating whose orientation and frequency the class sets, with a random phase, colour and noise."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] / SIZE
    angle = np.pi * label / classes
    frequency = 3 + 2 * (label % 3)
    wave = np.sin(2 * np.pi * frequency * (x * np.cos(angle) + y * np.sin(angle)) + rng.uniform(0, 2 * np.pi))
    colour = rng.uniform(0.3, 1.0, size=3)
    pixels = 127.5 + 100 * wave[..., None] * colour + rng.normal(0, 20, size=(SIZE, SIZE, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("--"):
        sys.exit("usage: make_vtab_shaped_task.py OUT_DIR [--test N] [--classes C]")
    out = os.path.abspath(args[0])
    test = int(args[args.index("--test") + 1]) if "--test" in args else 5000
    classes = int(args[args.index("--classes") + 1]) if "--classes" in args else 10
    task = os.path.join(out, "vtab-1k", "synthetic")
    rng = np.random.default_rng(0)
    lists = {}
    for split, count in [("train800", 800), ("val200", 200), ("test", test)]:
        os.makedirs(os.path.join(task, "images", split), exist_ok=True)
        lines = []
        for i in range(count):
            label = int(rng.integers(classes))
            name = f"images/{split}/{i:05d}.png"
            path = os.path.join(task, name)
            if not os.path.exists(path):
                png(path, image(rng, label, classes))
            else:
                image(rng, label, classes)   # the same random stream whether or not the file exists
            lines.append(f"{name} {label}")
        lists[split] = lines
    lists["train800val200"] = lists["train800"] + lists["val200"]
    for split, lines in lists.items():
        with open(os.path.join(task, f"{split}.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    weights = os.path.join(out, "vit_b16_random.safetensors")
    if not os.path.exists(weights):
        write_random_vit_b16(weights)
    sweep = {
        "name": "vtab-shaped", "seed": 0,
        "backbone": {"weights": weights},
        "data": {"format": "vtab", "root": os.path.join(out, "vtab-1k"), "task": "synthetic", "classes": classes,
                 "search": {"train": "train800", "eval": "val200"}, "final": {"train": "train800val200", "eval": "test"}},
        "cache": {"dtype": "f16", "taps": "all", "token_policy": "all", "dir": os.path.join(out, "cache"),
                  "splits": ["train800", "val200", "train800val200"]},
        "methods": {"last": {"lr": {"loguniform": [0.0005, 0.005]}, "rank": 32, "heads": 4},
                    "lst": {"lr": {"loguniform": [0.0005, 0.005]}, "reduction": 8},
                    "adapter": {"lr": {"loguniform": [0.001, 0.01]}, "bottleneck": 32},
                    "linear": {"lr": {"loguniform": [0.01, 0.3]}}},
        "space": {"weight_decay": 0.0001, "batch_size": 64},
        "sampler": {"type": "sobol"}, "trials": 8, "epochs": 3, "final_top": 1,
        "objectives": ["val_acc", "params"],
    }
    with open(os.path.join(out, "sweep.json"), "w") as f:
        json.dump(sweep, f, indent=1)
    print(os.path.join(out, "sweep.json"))


if __name__ == "__main__":
    main()
