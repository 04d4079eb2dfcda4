#!/usr/bin/env python3
"""Makes Tests/Fixtures/predict-torch: a model file trained by hpsweep on the digit folders over the
tiny timm-layout backbone (Tests/Fixtures/vit_tiny_f32.safetensors), and what scripts/predict_torch.py
(timm + PyTorch) predicts with it on the test folder: every class's probability per image.
PredictTorchTests checks that `hpsweep predict` gives the same within 1e-4.

    swift build -c release && python3 scripts/make_predict_torch_fixture.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(REPO, "Tests/Fixtures/predict-torch")
WEIGHTS = os.path.join(REPO, "Tests/Fixtures/vit_tiny_f32.safetensors")
DATA = os.path.join(REPO, "sweeps/data/digit-folders")


def main():
    with tempfile.TemporaryDirectory() as scratch:
        sweep = {
            "name": "predict-torch",
            "backbone": {"weights": WEIGHTS, "heads": 3},
            "data": {"format": "folders", "root": DATA},
            "cache": {"dir": os.path.join(scratch, "cache")},
            "methods": {"last": {"lr": 0.003, "rank": 4, "heads": 2}},
            "space": {"batch_size": 16},
            "sampler": {"type": "grid"},
            "epochs": 5,
        }
        path = os.path.join(scratch, "sweep.json")
        json.dump(sweep, open(path, "w"))
        subprocess.run([os.path.join(REPO, ".build/release/hpsweep"), "run", path, "--results", scratch + "/results"],
                       check=True, stdout=subprocess.DEVNULL)
        models = os.path.join(scratch, "results/predict-torch/models")
        model = os.path.join(models, sorted(os.listdir(models))[0])
        os.makedirs(OUT, exist_ok=True)
        shutil.copy(model, os.path.join(OUT, "model.safetensors"))
    subprocess.run([sys.executable, os.path.join(REPO, "scripts/predict_torch.py"), os.path.join(OUT, "model.safetensors"),
                    os.path.join(DATA, "test"), "--weights", WEIGHTS, "--out", os.path.join(OUT, "torch.csv"),
                    "--json", os.path.join(OUT, "expected.json")], check=True)
    os.remove(os.path.join(OUT, "torch.csv"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
