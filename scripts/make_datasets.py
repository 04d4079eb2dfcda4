"""Makes the committed datasets: the bundled demo set and the image-pipeline test fixtures.

    pip install scikit-learn pillow numpy
    python3 scripts/make_datasets.py

1. sweeps/data/digits/: the UCI handwritten digits as scikit-learn ships them (1797 grey 8x8 images,
   10 classes), as uint8 .npy arrays in VTAB-1k-style splits: train800, val200, train800val200, test
   (the remaining 797), from a fixed permutation.
2. Tests/Fixtures/vtab/: a small VTAB-1k tree in the NOAH/FacT layout with JPEG and PNG images of
   several kinds (RGB, grey, RGBA, palette; up- and down-scaling), and preprocessed.safetensors with
   what PIL + torchvision's ToTensor/Normalize make of each image (the reference for the Swift pipeline).
"""
import json
import os
import struct

import numpy as np
from PIL import Image
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def digits():
    out = os.path.join(ROOT, "sweeps", "data", "digits")
    os.makedirs(out, exist_ok=True)
    d = load_digits()
    images = np.rint(d.images * (255.0 / 16.0)).clip(0, 255).astype(np.uint8)   # 0..16 -> 0..255
    labels = d.target.astype(np.int64)
    order = np.random.RandomState(0).permutation(len(labels))
    splits = {"train800": order[:800], "val200": order[800:1000], "train800val200": order[:1000], "test": order[1000:]}
    for name, idx in splits.items():
        np.save(os.path.join(out, f"{name}_images.npy"), images[idx])
        np.save(os.path.join(out, f"{name}_labels.npy"), labels[idx])
    with open(os.path.join(out, "LICENSE.md"), "w") as f:
        f.write("""# UCI ML hand-written digits (as shipped by scikit-learn)

Source: `sklearn.datasets.load_digits()` (scikit-learn 1.9.1), a copy of the test set of the UCI
"Optical Recognition of Handwritten Digits" data set (E. Alpaydin, C. Kaynak, 1998),
https://archive.ics.uci.edu/dataset/80 , licensed under Creative Commons Attribution 4.0 (CC BY 4.0).

Exported by `scripts/make_datasets.py`: 8x8 grey images with values 0..16 scaled to uint8 0..255,
split by a fixed permutation (seed 0) into train800 / val200 / train800val200 / test (797 images).
""")
    print("digits:", {k: len(v) for k, v in splits.items()})


def preprocess(path, size):
    """What the NOAH/FacT VTAB pipeline does: PIL open, RGB, Resize((s, s), BICUBIC), ToTensor, Normalize."""
    img = Image.open(path).convert("RGB").resize((size, size), Image.BICUBIC)
    x = np.asarray(img, dtype=np.float32) / np.float32(255)
    return ((x - MEAN) / STD).transpose(2, 0, 1).copy()


def smooth(h, w, channels, rng):
    y, x = np.mgrid[0:h, 0:w]
    planes = [127 + 100 * np.sin(x / (3 + 5 * rng.rand()) + rng.rand() * 6) * np.cos(y / (2 + 4 * rng.rand()))
              + rng.randn(h, w) * 12 for _ in range(channels)]
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def vtab():
    task = os.path.join(ROOT, "Tests", "Fixtures", "vtab", "tiny-task")
    rng = np.random.RandomState(3)
    made = {}
    def save(split, name, array, mode, fmt, **kw):
        d = os.path.join(task, "images", split)
        os.makedirs(d, exist_ok=True)
        img = Image.fromarray(array.squeeze(-1) if array.shape[-1] == 1 else array, mode if mode != "P" else "RGB")
        if mode == "P":
            img = img.quantize(colors=16)
        img.save(os.path.join(d, name), fmt, **kw)
        made.setdefault(split, []).append(f"images/{split}/{name}")
    save("train800", "a.jpg", smooth(30, 40, 3, rng), "RGB", "JPEG", quality=90)
    save("train800", "b.png", smooth(23, 17, 1, rng), "L", "PNG")
    save("train800", "c.png", smooth(20, 20, 4, rng), "RGBA", "PNG")
    save("train800", "d.png", smooth(33, 31, 3, rng), "P", "PNG")
    save("val200", "e.jpg", smooth(48, 48, 1, rng), "L", "JPEG", quality=85)
    save("val200", "f.jpg", smooth(200, 300, 3, rng), "RGB", "JPEG", quality=80)
    save("test", "g.png", smooth(32, 32, 3, rng), "RGB", "PNG")
    labels = {"images/train800/a.jpg": 0, "images/train800/b.png": 1, "images/train800/c.png": 2,
              "images/train800/d.png": 1, "images/val200/e.jpg": 0, "images/val200/f.jpg": 2, "images/test/g.png": 1}
    def write_list(name, paths):
        with open(os.path.join(task, f"{name}.txt"), "w") as f:
            for p in paths:
                f.write(f"{p} {labels[p]}\n")
    write_list("train800", made["train800"])
    write_list("val200", made["val200"])
    write_list("train800val200", made["train800"] + made["val200"])
    write_list("test", made["test"])
    reference = {}
    for path in labels:
        # Every image at 32 (upscaling); two at 224, one of them a 300x200 downscale (antialiased).
        for size in ((32, 224) if path in ("images/train800/a.jpg", "images/val200/f.jpg") else (32,)):
            reference[f"{path}@{size}"] = preprocess(os.path.join(task, path), size)
    header, blobs, offset = {}, [], 0
    for name, arr in reference.items():
        raw = arr.astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(ROOT, "Tests", "Fixtures", "vtab", "preprocessed.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    print("vtab fixture:", {k: len(v) for k, v in made.items()})


if __name__ == "__main__":
    digits()
    vtab()
