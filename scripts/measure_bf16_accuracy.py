"""Measures what bf16 side-network training (a trial's `"compute": "bf16"`) costs in accuracy
(docs/side-networks.md, "bf16 training"): for every method, a grid sweep over compute fp32 | bf16 at the
method's measured best lr, several seeds each, no early stopping; then each precision's val_acc over the
seeds. Each seed is a trial of its own key, so fp32 and bf16 trials draw different seeds: the two are
compared against the spread of the seeds.

    swift build -c release && python3 scripts/measure_bf16_accuracy.py [demo|vitb] [--methods lst,last] [--seeds 5]

The scales are scripts/measure_method_defaults.py's: `demo` (the demo's digits through vit-tiny-test,
30 epochs) and `vitb` (ViT-B/16 widths and depth on random weights, 64 × 64 digits, 10 epochs). Needs
numpy for `vitb`, and a CPU with AVX512_BF16; sweeps, weights and results go to a temporary directory.
"""
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure_method_defaults import data_section, run_sweep  # noqa: E402

# method → (fixed sizes, lr): the defaults' measured best lr at each scale (docs/side-networks.md).
SETTINGS = {
    "demo": {"linear": ({}, 0.05), "adapter": ({"bottleneck": 16}, 0.0025), "last": ({"rank": 8, "heads": 2}, 0.0055),
             "lst": ({"reduction": 4}, 0.005)},
    "vitb": {"linear": ({}, 0.1), "adapter": ({"bottleneck": 16}, 0.003), "last": ({"rank": 8, "heads": 2}, 0.001),
             "lst": ({"reduction": 8}, 0.001)},
}


def sweep(scale, method, work, seeds):
    backbone, data, epochs = data_section(scale, work)
    sizes, lr = SETTINGS[scale][method]
    return {
        "name": f"bf16-{scale}-{method}", "seed": 0, "backbone": backbone, "data": data,
        "cache": {"dtype": "f16", "taps": "all", "token_policy": "all"},
        "methods": {method: dict(sizes, lr=lr, compute={"grid": ["fp32", "bf16"]})},
        "space": {"weight_decay": 0.0001, "batch_size": 64},
        "sampler": "grid", "trials": 2, "seeds": seeds, "epochs": epochs, "final_top": 0,
        "objectives": ["val_acc"],
    }


def summary(values):
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def main():
    args = sys.argv[1:]
    scale = args[0] if args and not args[0].startswith("--") else "demo"
    methods = args[args.index("--methods") + 1].split(",") if "--methods" in args else list(SETTINGS[scale])
    seeds = int(args[args.index("--seeds") + 1]) if "--seeds" in args else 5
    work = tempfile.mkdtemp(prefix=f"hpsweep-bf16-{scale}-")
    print(f"# {scale}: sweeps and results in {work}", flush=True)
    print(f"| method (size, lr) | fp32 val_acc, mean ± sd over {seeds} seeds | bf16 | bf16 − fp32 | seeds fp32 / bf16 |")
    print("|---|---|---|---|---|")
    for method in methods:
        rows = run_sweep(sweep(scale, method, work, seeds), work)
        accuracy = {"fp32": [], "bf16": []}
        for row in sorted(rows, key=lambda r: int(r["seed"])):
            accuracy[row["compute"]].append(float(row["val_acc"]))
        sizes, lr = SETTINGS[scale][method]
        label = ", ".join([f"{k} {v}" for k, v in sizes.items()] + [f"lr {lr:g}"])
        delta = statistics.mean(accuracy["bf16"]) - statistics.mean(accuracy["fp32"])
        each = lambda name: " ".join(f"{v:.3f}" for v in accuracy[name])
        print(f"| `{method}` ({label}) | {summary(accuracy['fp32'])} | {summary(accuracy['bf16'])} | {delta:+.3f} | "
              f"{each('fp32')} / {each('bf16')} |", flush=True)


if __name__ == "__main__":
    main()
