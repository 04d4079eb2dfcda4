"""Writes a small activation cache the way an outside program would (docs/cache-format.md), to test
`hpsweep cache import`. The output is committed under Tests/Fixtures/python-cache; tests need no Python.

    python3 scripts/write_python_cache.py [OUT_DIR]

Values are a formula of their indices (value = split_offset + 0.001 * (example * 100 + token * 10 + feature)
scaled per tap), so the Swift test can check them without reading this script's output.
"""
import hashlib
import json
import os
import sys
import zlib

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "python-cache")
SPLITS = {"train800": 5, "val200": 3}
TAPS = ["z0", "z2", "norm"]
TOKENS, WIDTH = 3, 4


def canonical(obj):
    """The text hashed for the cache key: sorted keys, no spaces, ASCII; floats never appear (strings)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def main():
    os.makedirs(OUT, exist_ok=True)
    ingredients = {
        "format_version": 1,
        "backbone": {"weights_sha256": hashlib.sha256(b"weights made elsewhere").hexdigest(), "convention": "timm",
                     "config": {"image_size": 32, "patch_size": 16, "width": WIDTH, "depth": 2, "heads": 1, "mlp_ratio": 4,
                                "channels": 3, "layer_norm_eps": str(np.float32(1e-6))}},
        "data": {name: {"count": n, "files_sha256": hashlib.sha256(name.encode()).hexdigest()} for name, n in SPLITS.items()},
        "preprocessing": {"image_size": 32, "mean": [str(np.float32(m)) for m in (0.485, 0.456, 0.406)],
                          "std": [str(np.float32(s)) for s in (0.229, 0.224, 0.225)], "resize": "pil-bicubic"},
        "taps": TAPS, "token_policy": "all", "dtype": "F16",
        "note": "written by scripts/write_python_cache.py — ünïcode survives canonical JSON",
    }
    key = hashlib.sha256(canonical(ingredients).encode()).hexdigest()
    arrays = []
    for s, (split, n) in enumerate(SPLITS.items()):
        e, t, f = np.meshgrid(np.arange(n), np.arange(TOKENS), np.arange(WIDTH), indexing="ij")
        for k, tap in enumerate(TAPS):
            values = ((s * 10 + k) + 0.001 * (e * 100 + t * 10 + f)).astype("<f2")
            name = f"{split}.{tap}.bin"
            raw = values.tobytes()
            open(os.path.join(OUT, name), "wb").write(raw)
            arrays.append({"split": split, "tap": tap, "file": name, "shape": [n, TOKENS, WIDTH], "dtype": "F16",
                           "bytes": len(raw), "crc32": zlib.crc32(raw)})
        labels = (np.arange(n) % 2).astype("<i8").tobytes()
        open(os.path.join(OUT, f"{split}.labels.bin"), "wb").write(labels)
        arrays.append({"split": split, "tap": "labels", "file": f"{split}.labels.bin", "shape": [n], "dtype": "I64",
                       "bytes": len(labels), "crc32": zlib.crc32(labels)})
    header = {"magic": "hpsweep-activation-cache", "format_version": 1, "key": key, "dtype": "F16", "byte_order": "little",
              "layout": "C order; activations (examples, tokens, width), labels (examples,)", "token_policy": "all",
              "tokens": TOKENS, "width": WIDTH, "taps": TAPS, "splits": SPLITS, "arrays": arrays,
              "ingredients": ingredients, "created_by": "scripts/write_python_cache.py (numpy)"}
    with open(os.path.join(OUT, "header.json"), "w") as f:
        json.dump(header, f, indent=1)
    print(OUT, key)


if __name__ == "__main__":
    main()
