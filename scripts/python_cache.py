"""Writes an hpsweep activation cache from Python, as docs/cache-format.md describes it: raw
little-endian arrays — format 2: one file per tap over the distinct images, and per split its labels
and its examples' rows among the images; format 1: one file per (split, tap) and per split's labels —
and header.json with their CRC-32s and the cache key (SHA-256 of the canonical JSON of the
ingredients). Shared by the fixture scripts.
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
    """Format 2: add every tap's `images`, and every split's `index` and `labels`; format 1: every
    split's `tap`s and `labels`. Then `finish` writes the header."""

    def __init__(self, directory, ingredients, tokens, width, format_version=2):
        self.directory, self.ingredients, self.tokens, self.width = directory, ingredients, tokens, width
        self.dtype, self.format_version = ingredients["dtype"], format_version
        self.arrays, self.image_count = [], None
        os.makedirs(directory, exist_ok=True)

    def _write(self, split, tap, raw, shape, dtype):
        name = f"{split if split is not None else 'images'}.{tap}.bin"
        with open(os.path.join(self.directory, name), "wb") as f:
            f.write(raw)
        entry = {"tap": tap, "file": name, "shape": shape, "dtype": dtype, "bytes": len(raw), "crc32": zlib.crc32(raw)}
        if split is not None:
            entry["split"] = split
        self.arrays.append(entry)

    def images(self, tap, values):
        """Format 2: `tap` of every distinct image, values (images, tokens, width)."""
        assert self.format_version == 2
        self.image_count = len(values)
        self._write(None, tap, np.asarray(values).astype(NUMPY_DTYPES[self.dtype]).tobytes(), list(values.shape), self.dtype)

    def index(self, split, rows):
        """Format 2: the row among the images of each example of `split`."""
        assert self.format_version == 2
        self._write(split, "index", np.asarray(rows).astype("<i8").tobytes(), [len(rows)], "I64")

    def tap(self, split, tap, values):
        """Format 1: values (examples, tokens, width), encoded in the cache dtype."""
        assert self.format_version == 1
        self._write(split, tap, np.asarray(values).astype(NUMPY_DTYPES[self.dtype]).tobytes(), list(values.shape), self.dtype)

    def labels(self, split, labels):
        self._write(split, "labels", np.asarray(labels).astype("<i8").tobytes(), [len(labels)], "I64")

    def finish(self, created_by):
        """Writes header.json; returns the cache key."""
        ing = self.ingredients
        key = hashlib.sha256(canonical(ing).encode()).hexdigest()
        header = {"magic": "hpsweep-activation-cache", "format_version": self.format_version, "key": key, "dtype": self.dtype, "byte_order": "little",
                  "layout": "C order; activations (examples, tokens, width), labels (examples,)", "token_policy": "all",
                  "tokens": self.tokens, "width": self.width, "taps": ing["taps"],
                  "splits": {name: d["count"] for name, d in ing["data"].items()}, "arrays": self.arrays,
                  "ingredients": ing, "created_by": created_by}
        if self.format_version == 2:
            header["images"] = self.image_count
        with open(os.path.join(self.directory, "header.json"), "w") as f:
            json.dump(header, f, indent=1)
        return key
