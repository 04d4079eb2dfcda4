"""Writes an hpsweep activation cache from Python, as docs/cache-format.md describes it: one raw
little-endian file per (split, tap) and per split's labels, and header.json with their CRC-32s and the
cache key (SHA-256 of the canonical JSON of the ingredients). Shared by the fixture scripts.
"""
import hashlib
import json
import os
import zlib

import numpy as np

NUMPY_DTYPES = {"F16": "<f2", "F32": "<f4"}


def canonical(obj):
    """The text hashed for the cache key: sorted keys, no spaces, ASCII; floats never appear (strings)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def ingredients(*, weights_text, config, splits, taps, dtype, note):
    """What the key is made of, for a backbone known only by the hash of `weights_text` (bytes)."""
    image_size = config["image_size"]
    return {
        "format_version": 1,
        "backbone": {"weights_sha256": hashlib.sha256(weights_text).hexdigest(), "convention": "timm",
                     "config": dict(config, channels=3, layer_norm_eps=str(np.float32(1e-6)))},
        "data": {name: {"count": n, "files_sha256": hashlib.sha256(name.encode()).hexdigest()} for name, n in splits.items()},
        "preprocessing": {"image_size": image_size, "mean": [str(np.float32(m)) for m in (0.485, 0.456, 0.406)],
                          "std": [str(np.float32(s)) for s in (0.229, 0.224, 0.225)], "resize": "pil-bicubic"},
        "taps": taps, "token_policy": "all", "dtype": dtype,
        "note": note,
    }


class CacheWriter:
    """Add every split's taps and labels, then `finish` writes the header."""

    def __init__(self, directory, ingredients, tokens, width):
        self.directory, self.ingredients, self.tokens, self.width = directory, ingredients, tokens, width
        self.dtype = ingredients["dtype"]
        self.arrays = []
        os.makedirs(directory, exist_ok=True)

    def _write(self, split, tap, raw, shape, dtype):
        name = f"{split}.{tap}.bin"
        with open(os.path.join(self.directory, name), "wb") as f:
            f.write(raw)
        self.arrays.append({"split": split, "tap": tap, "file": name, "shape": shape, "dtype": dtype,
                            "bytes": len(raw), "crc32": zlib.crc32(raw)})

    def tap(self, split, tap, values):
        """values (examples, tokens, width), encoded in the cache dtype."""
        self._write(split, tap, np.asarray(values).astype(NUMPY_DTYPES[self.dtype]).tobytes(), list(values.shape), self.dtype)

    def labels(self, split, labels):
        self._write(split, "labels", np.asarray(labels).astype("<i8").tobytes(), [len(labels)], "I64")

    def finish(self, created_by):
        """Writes header.json; returns the cache key."""
        ing = self.ingredients
        key = hashlib.sha256(canonical(ing).encode()).hexdigest()
        header = {"magic": "hpsweep-activation-cache", "format_version": 1, "key": key, "dtype": self.dtype, "byte_order": "little",
                  "layout": "C order; activations (examples, tokens, width), labels (examples,)", "token_policy": "all",
                  "tokens": self.tokens, "width": self.width, "taps": ing["taps"],
                  "splits": {name: d["count"] for name, d in ing["data"].items()}, "arrays": self.arrays,
                  "ingredients": ing, "created_by": created_by}
        with open(os.path.join(self.directory, "header.json"), "w") as f:
            json.dump(header, f, indent=1)
        return key
