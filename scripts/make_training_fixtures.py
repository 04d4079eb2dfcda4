"""Training-outcome fixtures: each side network trained a few epochs by PyTorch from hpsweep's own
initial parameters, in hpsweep's batch order, to compare with hpsweep's trainer (TrainingOutcomeTests).
Gradient tests check one step; this checks what they cannot see: the optimiser, the schedule, the
weight-decay masks, partial batches, epoch losses and evaluation.

    swift build -c release --build-tests -Xswiftc -enable-testing
    python3 scripts/make_training_fixtures.py

1. writes a small activation cache in the documented format (docs/cache-format.md), F32, 3 taps
   (z0…z2) of 5 tokens × 12 features, 40 training and 20 validation examples of 3 classes, into
   Tests/Fixtures/training/cache;
2. runs the Swift test with HPSWEEP_WRITE_TRAINING_FIXTURE=1, which writes, per case, the trial's
   initial parameters as an hpsweep model file with its batch order (initial/<case>.safetensors);
3. trains each case in float64 with torch.optim.AdamW (weight decay on tensors of 2 or more
   dimensions only, as METHODS.md says: not biases, LayerNorms, gates) and the schedule of
   docs/training.md (linear warmup over int(0.1 · steps), then cosine to 0), the network from
   scripts/sidenet_torch.py (written from METHODS.md, not from the Swift code);
4. writes expected.json: per case the epoch mean training loss, validation loss and accuracy, and the
   final validation logits. Needs torch, safetensors, numpy.
"""
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import sidenet_torch  # noqa: E402
from python_cache import CacheWriter, ingredients  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "training")
SPLITS = {"train": 40, "val": 20}
TAPS = ["z0", "z1", "z2"]
TOKENS, WIDTH, CLASSES = 5, 12, 3


def write_cache(directory):
    """Taps with a class signal (a class-dependent direction plus noise, stronger in later taps)."""
    rng = np.random.default_rng(22)
    directions = rng.normal(size=(CLASSES, WIDTH))
    writer = CacheWriter(directory, ingredients(
        weights_text=b"training-outcome fixture", splits=SPLITS, taps=TAPS, dtype="F32",
        config={"image_size": 16, "patch_size": 8, "width": WIDTH, "depth": 2, "heads": 2, "mlp_ratio": 4},
        note="written by scripts/make_training_fixtures.py"), TOKENS, WIDTH, format_version=1)
    for split, n in SPLITS.items():
        labels = rng.integers(0, CLASSES, size=n)
        for k, tap in enumerate(TAPS):
            writer.tap(split, tap, rng.normal(size=(n, TOKENS, WIDTH)) + 0.25 * (k + 1) * directions[labels][:, None, :])
        writer.labels(split, labels)
    writer.finish("scripts/make_training_fixtures.py (numpy)")


def learning_rate(step, peak, total, warmup_fraction):
    warmup = int(warmup_fraction * total)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def train(model_path, cache):
    with safe_open(model_path, "pt") as f:
        metadata = f.metadata()
    net = sidenet_torch.load(model_path, dtype=torch.float64)
    s = net.settings
    order = json.loads(metadata["batch_order"])             # [epoch][batch] -> example indices
    taps, labels = sidenet_torch.read_cache(cache, "train", set(TAPS))
    val_taps, val_labels = sidenet_torch.read_cache(cache, "val", set(TAPS))
    taps = {k: v.double() for k, v in taps.items()}
    val_taps = {k: v.double() for k, v in val_taps.items()}
    labels, val_labels = torch.from_numpy(labels), torch.from_numpy(val_labels)
    params = list(net.parameters())
    groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": s["weightDecay"]},
              {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]
    optimizer = torch.optim.AdamW(groups, lr=s["learningRate"], betas=(0.9, 0.999), eps=1e-8)
    total = sum(len(batches) for batches in order)
    step, epochs = 0, []
    for batches in order:
        loss_sum = 0.0
        for indices in batches:
            index = torch.tensor(indices)
            for g in optimizer.param_groups:
                g["lr"] = learning_rate(step, s["learningRate"], total, s["warmupFraction"])
            optimizer.zero_grad()
            loss = F.cross_entropy(net({k: v[index] for k, v in taps.items()}), labels[index])
            loss.backward()
            optimizer.step()
            step += 1
            loss_sum += loss.item() * len(indices)
        with torch.no_grad():
            logits = net(val_taps)
            val_loss = F.cross_entropy(logits, val_labels).item()
            accuracy = (logits.argmax(1) == val_labels).double().mean().item()
        epochs.append({"train_loss": loss_sum / len(labels), "val_loss": val_loss, "val_acc": accuracy})
    return {"epochs": epochs, "val_logits": logits.flatten().tolist()}


def main():
    cache = os.path.join(OUT, "cache")
    write_cache(cache)
    env = dict(os.environ, HPSWEEP_WRITE_TRAINING_FIXTURE="1")
    subprocess.run(["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--disable-swift-testing", "--skip-build",
                    "--filter", "TrainingOutcomeTests"], cwd=ROOT, env=env, check=True)
    initial = os.path.join(OUT, "initial")
    expected = {}
    for name in sorted(os.listdir(initial)):
        case = name.removesuffix(".safetensors")
        expected[case] = train(os.path.join(initial, name), cache)
        print(case, " ".join(f"{e['train_loss']:.4f}" for e in expected[case]["epochs"]), f"val_acc {expected[case]['epochs'][-1]['val_acc']:.3f}")
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
