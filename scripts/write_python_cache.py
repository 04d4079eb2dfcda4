"""Writes a small activation cache the way an outside program would (docs/cache-format.md), to test
`hpsweep cache import` and the reader. The output is committed under Tests/Fixtures; tests need no Python.

    python3 scripts/write_python_cache.py [OUT_DIR] [--format 1|2]

Format 2 (the default, Tests/Fixtures/python-cache-v2): 8 distinct images, and three splits — train800
(images 0–4), val200 (images 5–7) and train800val200, the two again, which stores nothing twice.
Format 1 (Tests/Fixtures/python-cache, the format before each image was stored once): train800 and
val200, each split's taps stored whole.

Values are a formula of their indices (value = split_offset + 0.001 * (example * 100 + token * 10 + feature)
scaled per tap, the split and example being the image's first), so the Swift test can check them
without reading this script's output.
"""
import os
import sys

import numpy as np

from python_cache import CacheWriter, ingredients

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures")
TAPS = ["z0", "z2", "norm"]
TOKENS, WIDTH = 3, 4


def values(split_number, examples, tap_number):
    e, t, f = np.meshgrid(np.arange(examples), np.arange(TOKENS), np.arange(WIDTH), indexing="ij")
    return ((split_number * 10 + tap_number) + 0.001 * (e * 100 + t * 10 + f)).astype("<f2")


def main():
    args = sys.argv[1:]
    version = int(args[args.index("--format") + 1]) if "--format" in args else 2
    positional = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] != "--format")]
    out = positional[0] if positional else os.path.join(FIXTURES, "python-cache" if version == 1 else "python-cache-v2")
    splits = {"train800": 5, "val200": 3} if version == 1 else {"train800": 5, "val200": 3, "train800val200": 8}
    writer = CacheWriter(out, ingredients(
        weights_text=b"weights made elsewhere", splits=splits, taps=TAPS, dtype="F16",
        config={"image_size": 32, "patch_size": 16, "width": WIDTH, "depth": 2, "heads": 1, "mlp_ratio": 4},
        note="written by scripts/write_python_cache.py — ünïcode survives canonical JSON"), TOKENS, WIDTH, format_version=version)
    if version == 1:
        for s, (split, n) in enumerate(splits.items()):
            for k, tap in enumerate(TAPS):
                writer.tap(split, tap, values(s, n, k))
            writer.labels(split, np.arange(n) % 2)
    else:
        for k, tap in enumerate(TAPS):
            writer.images(tap, np.concatenate([values(0, 5, k), values(1, 3, k)]))
        rows = {"train800": list(range(5)), "val200": list(range(5, 8)), "train800val200": list(range(8))}
        for split, split_rows in rows.items():
            writer.index(split, split_rows)
            writer.labels(split, [r % 5 % 2 if r < 5 else (r - 5) % 2 for r in split_rows])
    print(out, writer.finish("scripts/write_python_cache.py (numpy)"))


if __name__ == "__main__":
    main()
