"""Writes a small activation cache the way an outside program would (docs/cache-format.md), to test
`hpsweep cache import`. The output is committed under Tests/Fixtures/python-cache; tests need no Python.

    python3 scripts/write_python_cache.py [OUT_DIR]

Values are a formula of their indices (value = split_offset + 0.001 * (example * 100 + token * 10 + feature)
scaled per tap), so the Swift test can check them without reading this script's output.
"""
import hashlib
import os
import sys

import numpy as np

from python_cache import CacheWriter, ingredients

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "python-cache")
SPLITS = {"train800": 5, "val200": 3}
TAPS = ["z0", "z2", "norm"]
TOKENS, WIDTH = 3, 4


def main():
    writer = CacheWriter(OUT, ingredients(
        weights_text=b"weights made elsewhere", splits=SPLITS, taps=TAPS, dtype="F16",
        config={"image_size": 32, "patch_size": 16, "width": WIDTH, "depth": 2, "heads": 1, "mlp_ratio": 4},
        note="written by scripts/write_python_cache.py — ünïcode survives canonical JSON"), TOKENS, WIDTH)
    for s, (split, n) in enumerate(SPLITS.items()):
        e, t, f = np.meshgrid(np.arange(n), np.arange(TOKENS), np.arange(WIDTH), indexing="ij")
        for k, tap in enumerate(TAPS):
            writer.tap(split, tap, ((s * 10 + k) + 0.001 * (e * 100 + t * 10 + f)).astype("<f2"))
        writer.labels(split, np.arange(n) % 2)
    print(OUT, writer.finish("scripts/write_python_cache.py (numpy)"))


if __name__ == "__main__":
    main()
