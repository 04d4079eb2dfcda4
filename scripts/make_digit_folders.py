#!/usr/bin/env python3
"""Writes sweeps/data/digit-folders: the bundled digits 0, 1 and 2 as 8×8 grey PNG files in the
class-folder layout (torchvision's ImageFolder), <split>/<class>/<index>.png with the classes
'zero', 'one', 'two' and the splits train (30 per class), val (10) and test (10).

    python3 scripts/make_digit_folders.py

Needs only NumPy (the PNG files are written with zlib, as the format describes). The folder demo
(sweeps/folders-demo.json) and the tests read it."""
import os
import struct
import zlib

import numpy as np

ROOT = os.path.join(os.path.dirname(__file__), "..", "sweeps", "data")
NAMES = ["zero", "one", "two"]
COUNTS = {"train": 30, "val": 10, "test": 10}


def png(pixels):
    """An 8-bit greyscale PNG of a 2-D uint8 array."""
    height, width = pixels.shape
    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))  # filter type 0 per row

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main():
    digits = os.path.join(ROOT, "digits")
    images = np.concatenate([np.load(os.path.join(digits, f"{s}_images.npy")) for s in ("train800val200", "test")])
    labels = np.concatenate([np.load(os.path.join(digits, f"{s}_labels.npy")) for s in ("train800val200", "test")])
    out = os.path.join(ROOT, "digit-folders")
    for label, name in enumerate(NAMES):
        rows = images[labels == label]
        start = 0
        for split, count in COUNTS.items():
            folder = os.path.join(out, split, name)
            os.makedirs(folder, exist_ok=True)
            for i, row in enumerate(rows[start:start + count]):
                with open(os.path.join(folder, f"{i:03d}.png"), "wb") as f:
                    f.write(png(np.asarray(row, dtype=np.uint8)))
            start += count
    print("wrote", out)


if __name__ == "__main__":
    main()
