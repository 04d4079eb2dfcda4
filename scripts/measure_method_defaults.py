"""Measures the `init` and `norm_affine` choices of each side network (docs/side-networks.md,
"Initialisation and the head's LayerNorm"): for every method, a grid sweep over a small lr grid ×
init × norm_affine × 3 seeds, no early stopping, and the best val_acc of each choice (mean over seeds
of the best lr; the lr is picked per choice, as a sweep would).

    swift build -c release && python3 scripts/measure_method_defaults.py [demo|vitb] [--methods lst,linear]

`demo`: the demo's cache (digits through `vit-tiny-test`, D 96, 4 layers), 30 epochs, train800 → val200.
`vitb`: ViT-B/16 widths (random `vit-b16`: D 768, 12 layers, 12 heads) on 400 digits of the suite demo at
224 × 224 (197 tokens), 10 epochs, 300 → 100 images: the widths where timm's N(0, 0.02) was tuned.
Needs only the Python standard library; sweeps and results go to a temporary directory.
"""
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HPSWEEP = os.path.join(ROOT, ".build", "release", "hpsweep")

# method → (fixed settings, lr grid)
GRIDS = {
    "demo": {
        "linear": ({}, [0.01, 0.03, 0.1, 0.3]),
        "adapter": ({"bottleneck": 16}, [0.0025, 0.005, 0.01]),
        "last": ({"rank": 8, "heads": 2}, [0.0025, 0.0055, 0.01]),
        "lst": ({"reduction": 4}, [0.001, 0.0025, 0.005]),
    },
    "vitb": {
        "linear": ({}, [0.003, 0.01, 0.03]),
        "adapter": ({"bottleneck": 16}, [0.001, 0.003]),
        "last": ({"rank": 8, "heads": 2}, [0.001, 0.003]),
        "lst": ({"reduction": 8}, [0.001, 0.003]),
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
    # ViT-B/16 shape: subsets of the suite demo's digits task, in VTAB-1k list files.
    source = os.path.join(ROOT, "sweeps", "data", "digits-suite", "digits")
    root = os.path.join(work, "vtab")
    os.makedirs(os.path.join(root, "digits"), exist_ok=True)
    for name, source_split, count in [("train800", "train800", 300), ("val200", "val200", 100)]:
        with open(os.path.join(source, source_split + ".txt")) as f:
            lines = f.read().splitlines()[:count]
        with open(os.path.join(root, "digits", name + ".txt"), "w") as f:
            f.write("\n".join(os.path.join(source, l.split()[0]) + " " + l.split()[1] for l in lines) + "\n")
    return {"random": "vit-b16", "seed": 0}, {
        "format": "vtab", "root": root, "task": "digits", "classes": 10,
        "search": {"train": "train800", "eval": "val200"}, "final": {"train": "train800", "eval": "val200"},
    }, 10


def sweep(scale, method, work):
    backbone, data, epochs = data_section(scale, work)
    fixed, lrs = GRIDS[scale][method]
    space = dict(fixed, lr={"grid": lrs}, init={"grid": ["timm", "fan_in", "xavier"]})
    if method in AFFINE:
        space["norm_affine"] = {"grid": [False, True]}
    return {
        "name": f"defaults-{scale}-{method}", "seed": 0, "backbone": backbone, "data": data,
        "cache": {"dtype": "f16", "taps": "all", "token_policy": "all"},
        "methods": {method: space}, "space": {"weight_decay": 0.0001, "batch_size": 64},
        "sampler": "grid", "trials": 100, "seeds": 3, "epochs": epochs, "final_top": 0,
        "objectives": ["val_acc"],
    }


def main():
    args = sys.argv[1:]
    scale = args[0] if args and not args[0].startswith("--") else "demo"
    methods = list(GRIDS[scale])
    if "--methods" in args:
        methods = args[args.index("--methods") + 1].split(",")
    work = tempfile.mkdtemp(prefix=f"hpsweep-defaults-{scale}-")
    print(f"# {scale}: sweeps and results in {work}", flush=True)
    for method in methods:
        path = os.path.join(work, f"{method}.json")
        with open(path, "w") as f:
            json.dump(sweep(scale, method, work), f, indent=1)
        results = os.path.join(work, "results")
        subprocess.run([HPSWEEP, "run", path, "--results", results, "--cache-dir", os.path.join(ROOT, ".hpsweep-cache")],
                       check=True, stdout=subprocess.DEVNULL)
        rows = list(csv.DictReader(open(os.path.join(results, f"defaults-{scale}-{method}", "leaderboard.csv"))))
        runs = {}
        for row in rows:
            choice = (row["init"], row.get("norm_affine", ""))
            runs.setdefault(choice, {}).setdefault(float(row["lr"]), []).append(float(row["val_acc"]))
        print(f"\n{method} ({', '.join(f'{k} {v}' for k, v in GRIDS[scale][method][0].items()) or 'no size'}; "
              f"lr grid {GRIDS[scale][method][1]}; 3 seeds)")
        print("| init | norm_affine | best lr | val_acc mean (seeds) | every lr: mean |")
        print("|---|---|---|---|---|")
        for choice in sorted(runs):
            per_lr = {lr: statistics.mean(v) for lr, v in runs[choice].items()}
            best = max(per_lr, key=per_lr.get)
            seeds = " / ".join(f"{v:.3f}" for v in runs[choice][best])
            every = ", ".join(f"{lr:g}: {m:.3f}" for lr, m in sorted(per_lr.items()))
            print(f"| {choice[0]} | {choice[1] or '—'} | {best:g} | {per_lr[best]:.3f} ({seeds}) | {every} |", flush=True)


if __name__ == "__main__":
    main()
