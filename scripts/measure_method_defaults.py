"""Measures the `init` and `norm_affine` choices of each side network (docs/side-networks.md,
"Initialisation and the head's LayerNorm"): for every method, a grid sweep over a small lr grid ×
init × norm_affine × 3 seeds, no early stopping, and the best val_acc of each choice (mean over seeds
of the best lr; the lr is picked per choice, as a sweep would).

    swift build -c release && python3 scripts/measure_method_defaults.py [demo|vitb] [--methods lst,linear] [--seeds 3]

`demo`: the demo's cache (digits through `vit-tiny-test`, D 96, 4 layers), 30 epochs, train800 → val200.
`vitb`: ViT-B/16 widths and depth (D 768, 12 layers, 12 heads; random timm-style weights, N(0, 0.02),
written here as a safetensors file) on 400 digits of the suite demo at 64 × 64 (17 tokens: `image_size`
resamples the position embedding; 224 × 224 would make the 18 `lst` trials take hours on 2 cores),
10 epochs, 300 → 100 images: the widths where timm's N(0, 0.02) was tuned.
Needs numpy; sweeps, weights and results go to a temporary directory.
"""
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HPSWEEP = os.environ.get("HPSWEEP", os.path.join(ROOT, ".build", "release", "hpsweep"))

# method → (fixed settings, lr grid)
GRIDS = {
    "demo": {
        "linear": ({}, [0.01, 0.03, 0.05, 0.1, 0.3]),
        "adapter": ({"bottleneck": 16}, [0.0005, 0.001, 0.0025, 0.005]),
        "last": ({"rank": 8, "heads": 2}, [0.0025, 0.0055, 0.01]),
        "lst": ({"reduction": 4}, [0.001, 0.0025, 0.005]),
    },
    "vitb": {
        "linear": ({}, [0.01, 0.03, 0.1, 0.3]),
        "adapter": ({"bottleneck": 16}, [0.001, 0.003, 0.01]),
        "last": ({"rank": 8, "heads": 2}, [0.0003, 0.001, 0.003, 0.01]),
        "lst": ({"reduction": 8}, [0.0003, 0.001, 0.003]),
    },
}
AFFINE = {"linear", "adapter", "last"}


def data_section(scale, work):
    if scale == "demo":
        digits = os.path.join(ROOT, "sweeps", "data", "digits")
        split = lambda n: {"images": f"{digits}/{n}_images.npy", "labels": f"{digits}/{n}_labels.npy"}
        return {"random": "vit-tiny-test", "seed": 0}, {
            "format": "numpy", "classes": 10,
            "splits": {"train800": split("train800"), "val200": split("val200")},
            "search": {"train": "train800", "eval": "val200"}, "final": {"train": "train800", "eval": "val200"},
        }, 30
    # ViT-B/16 shape: random weights, and subsets of the suite demo's digits task in VTAB-1k list files.
    weights = os.path.join(work, "vit_b16_random.safetensors")
    write_random_vit_b16(weights)
    source = os.path.join(ROOT, "sweeps", "data", "digits-suite", "digits")
    root = os.path.join(work, "vtab")
    os.makedirs(os.path.join(root, "digits"), exist_ok=True)
    if not os.path.exists(os.path.join(root, "digits", "images")):
        os.symlink(os.path.join(source, "images"), os.path.join(root, "digits", "images"))
    for name, source_split, count in [("train800", "train800", 300), ("val200", "val200", 100)]:
        with open(os.path.join(source, source_split + ".txt")) as f:
            lines = f.read().splitlines()[:count]
        with open(os.path.join(root, "digits", name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return {"weights": weights, "image_size": 64}, {
        "format": "vtab", "root": root, "task": "digits", "classes": 10,
        "search": {"train": "train800", "eval": "val200"}, "final": {"train": "train800", "eval": "val200"},
    }, 10


def write_random_vit_b16(path, seed=0):
    """timm's ViT-B/16 names and shapes, weights truncated N(0, 0.02), LayerNorms 1/0, biases 0."""
    import numpy as np
    rng = np.random.default_rng(seed)
    D, L, F = 768, 12, 3072
    normal = lambda *shape: np.clip(rng.normal(0, 0.02, size=shape), -0.04, 0.04).astype("<f4")
    tensors = {"cls_token": normal(1, 1, D), "pos_embed": normal(1, 197, D), "patch_embed.proj.weight": normal(D, 3, 16, 16),
               "patch_embed.proj.bias": np.zeros(D, "<f4"), "norm.weight": np.ones(D, "<f4"), "norm.bias": np.zeros(D, "<f4")}
    for i in range(L):
        b = f"blocks.{i}."
        tensors.update({b + "norm1.weight": np.ones(D, "<f4"), b + "norm1.bias": np.zeros(D, "<f4"),
                        b + "attn.qkv.weight": normal(3 * D, D), b + "attn.qkv.bias": np.zeros(3 * D, "<f4"),
                        b + "attn.proj.weight": normal(D, D), b + "attn.proj.bias": np.zeros(D, "<f4"),
                        b + "norm2.weight": np.ones(D, "<f4"), b + "norm2.bias": np.zeros(D, "<f4"),
                        b + "mlp.fc1.weight": normal(F, D), b + "mlp.fc1.bias": np.zeros(F, "<f4"),
                        b + "mlp.fc2.weight": normal(D, F), b + "mlp.fc2.bias": np.zeros(D, "<f4")})
    header, offset = {}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little") + text)
        for t in tensors.values():
            f.write(t.tobytes())


def sweep(scale, method, work, seeds):
    backbone, data, epochs = data_section(scale, work)
    fixed, lrs = GRIDS[scale][method]
    space = dict(fixed, lr={"grid": lrs}, init={"grid": ["timm", "fan_in", "xavier"]})
    if method in AFFINE:
        space["norm_affine"] = {"grid": [False, True]}
    return {
        "name": f"defaults-{scale}-{method}", "seed": 0, "backbone": backbone, "data": data,
        "cache": {"dtype": "f16", "taps": "all", "token_policy": "all"},
        "methods": {method: space}, "space": {"weight_decay": 0.0001, "batch_size": 64},
        "sampler": "grid", "trials": 100, "seeds": seeds, "epochs": epochs, "final_top": 0,
        "objectives": ["val_acc"],
    }


def run_sweep(spec, work):
    """Writes `spec` under `work`, runs it with hpsweep (the repository's cache root) and returns its
    leaderboard rows."""
    path = os.path.join(work, f"{spec['name']}.json")
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
    results = os.path.join(work, "results")
    subprocess.run([HPSWEEP, "run", path, "--results", results, "--cache-dir", os.path.join(ROOT, ".hpsweep-cache")],
                   check=True, stdout=subprocess.DEVNULL)
    return list(csv.DictReader(open(os.path.join(results, spec["name"], "leaderboard.csv"))))


def main():
    args = sys.argv[1:]
    scale = args[0] if args and not args[0].startswith("--") else "demo"
    methods = list(GRIDS[scale])
    if "--methods" in args:
        methods = args[args.index("--methods") + 1].split(",")
    seeds = int(args[args.index("--seeds") + 1]) if "--seeds" in args else 3
    work = tempfile.mkdtemp(prefix=f"hpsweep-defaults-{scale}-")
    print(f"# {scale}: sweeps and results in {work}", flush=True)
    for method in methods:
        rows = run_sweep(sweep(scale, method, work, seeds), work)
        runs = {}
        for row in rows:
            choice = (row["init"], row.get("norm_affine", ""))
            runs.setdefault(choice, {}).setdefault(float(row["lr"]), []).append(float(row["val_acc"]))
        print(f"\n{method} ({', '.join(f'{k} {v}' for k, v in GRIDS[scale][method][0].items()) or 'no size'}; "
              f"lr grid {GRIDS[scale][method][1]}; {seeds} seeds)")
        print("| init | norm_affine | best lr | val_acc mean (seeds) | every lr: mean |")
        print("|---|---|---|---|---|")
        for choice in sorted(runs):
            per_lr = {lr: statistics.mean(v) for lr, v in runs[choice].items()}
            best = max(per_lr, key=per_lr.get)
            per_seed = " / ".join(f"{v:.3f}" for v in runs[choice][best])
            every = ", ".join(f"{lr:g}: {m:.3f}" for lr, m in sorted(per_lr.items()))
            print(f"| {choice[0]} | {choice[1] or '—'} | {best:g} | {per_lr[best]:.3f} ({per_seed}) | {every} |", flush=True)


if __name__ == "__main__":
    main()
