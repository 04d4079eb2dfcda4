"""Model files written by Python from docs/formats.md, and the logits scripts/sidenet_torch.py computes
with them; the Swift tests read the files with hpsweep and match the logits (no Python at test time).

    pip install torch==2.13.0+cpu safetensors numpy
    python3 scripts/make_model_fixtures.py

Writes Tests/Fixtures/models/<method>.safetensors (random parameters under hpsweep's layout names, the
shapes of scripts/make_sidenet_fixtures.py: D 8, depth 4, 3 classes) and Tests/Fixtures/model_logits.safetensors
(taps z0…z4 (3, 5, 8) and <method>.logits, computed in float64).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_sidenet_fixtures as reference  # noqa: E402  (the functional networks the gradient tests use)
import sidenet_torch  # noqa: E402
from make_fixtures import save_safetensors  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "Fixtures")

# Every field of hpsweep's TrialSettings (its JSON decoder wants them all but the optional ones).
BASE = {"batchSize": 64, "bottleneck": 32, "decay": "cosine", "epochs": 30, "evalEvery": 1, "gap": 1, "heads": 1,
        "labelSmoothing": 0, "learningRate": 0.001, "lrFloor": 0, "lstInit": "random", "modulesPerGroup": 1,
        "rank": 32, "reduction": 8, "seed": 7, "warmupFraction": 0.1, "weightDecay": 0.0001}
SETTINGS = {
    "linear": {},
    "adapter": {"bottleneck": 3},
    "last": {"rank": 4, "heads": 2, "gap": 2, "modulesPerGroup": 2},
    "lst": {"reduction": 2, "lstLayers": list(reference.LST_LAYERS)},
}
TAPS = {"linear": ["z4"], "adapter": ["z1", "z2", "z3", "z4"], "last": ["z0", "z2", "z4"], "lst": ["z0", "z2", "z4"]}


def main():
    torch.manual_seed(1)
    os.makedirs(os.path.join(FIXTURES, "models"), exist_ok=True)
    out = {f"taps.{k}": v for k, v in reference.taps.items()}
    for method, changes in SETTINGS.items():
        params = {k: 0.3 * torch.randn(*v, dtype=torch.float64) for k, v in reference.shapes(method).items()}
        params = {k: v.float() for k, v in params.items()}       # what the file holds
        metadata = {"format": "hpsweep-side-network", "format_version": "1", "method": method,
                    "settings": json.dumps(dict(BASE, method=method, **changes), sort_keys=True),
                    "classes": str(reference.C), "backbone_width": str(reference.D), "backbone_depth": str(reference.L),
                    "backbone_heads": "2", "taps": json.dumps(TAPS[method]), "trial": f"fixture-{method}"}
        path = os.path.join(FIXTURES, "models", f"{method}.safetensors")
        save_safetensors(path, params)
        # save_safetensors writes no metadata: add it to the header (the format's "__metadata__").
        add_metadata(path, metadata)
        net = sidenet_torch.load(path).double()
        with torch.no_grad():
            logits = net({k: v for k, v in reference.taps.items()})
            functional = reference.NETS[method]({k: v.double() for k, v in params.items()})
        assert torch.allclose(logits, functional, atol=1e-12), f"{method}: sidenet_torch and make_sidenet_fixtures disagree"
        out[f"{method}.logits"] = logits
    save_safetensors(os.path.join(FIXTURES, "model_logits.safetensors"), {k: v.float() for k, v in out.items()})
    print("wrote", len(SETTINGS), "model files and", len(out), "tensors")


def add_metadata(path, metadata):
    import struct
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header["__metadata__"] = metadata
    text = json.dumps(header, sort_keys=True).encode()
    text += b" " * (-len(text) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])


if __name__ == "__main__":
    main()
