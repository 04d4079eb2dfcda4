"""Pareto-aware vs plain successive halving on the demo (docs/sweep-spec.md, "Early stopping"):
sweeps/demo-pareto.json and sweeps/demo.json at sweep seeds 0, 1, 2; for each pair, the trained epochs
(summed over the search's trials), the side networks' seconds, the best val_acc, and the front's hypervolume (val_acc vs
params) against the reference `hpsweep compare` makes common to both.

    swift build -c release && python3 scripts/measure_pareto_halving.py [--seeds 0,1,2]

Sweeps and results go to a temporary directory; the cache is the repository's .hpsweep-cache.
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HPSWEEP = os.environ.get("HPSWEEP", os.path.join(ROOT, ".build", "release", "hpsweep"))


def with_seed(name, seed, work, tag=""):
    """The sweep file at another seed (its name suffixed with `tag`, if any), its data paths made
    absolute (the copy lives elsewhere). Also used by measure_schedule_quality.py."""
    spec = json.load(open(os.path.join(ROOT, "sweeps", name + ".json")))
    spec["seed"] = seed
    spec["name"] = f"{spec['name']}-seed{seed}" + (f"-{tag}" if tag else "")
    for split in spec["data"]["splits"].values():
        for key in ("images", "labels"):
            split[key] = os.path.join(ROOT, "sweeps", split[key])
    path = os.path.join(work, spec["name"] + ".json")
    json.dump(spec, open(path, "w"), indent=1)
    return spec["name"], path


def main():
    args = sys.argv[1:]
    seeds = [int(s) for s in args[args.index("--seeds") + 1].split(",")] if "--seeds" in args else [0, 1, 2]
    work = tempfile.mkdtemp(prefix="hpsweep-pareto-halving-")
    results = os.path.join(work, "results")
    print(f"# sweeps and results in {work}", flush=True)
    print("| seed | halving | trained epochs | side-network s | best val_acc | hypervolume |")
    print("|---|---|---|---|---|---|")
    for seed in seeds:
        rows, leaderboards = [], []
        for sweep in ("demo-pareto", "demo"):
            name, path = with_seed(sweep, seed, work)
            subprocess.run([HPSWEEP, "run", path, "--results", results, "--cache-dir", os.path.join(ROOT, ".hpsweep-cache")],
                           check=True, stdout=subprocess.DEVNULL)
            board = os.path.join(results, name, "leaderboard.csv")
            search = list(csv.DictReader(open(board)))
            summary = json.load(open(os.path.join(results, name, "summary.json")))
            rows.append((sweep, sum(int(r["epochs_run"]) for r in search), summary["cost"]["side_net_seconds"],
                         max(float(r["val_acc"]) for r in search)))
            leaderboards.append(board)
        compared = json.loads(subprocess.run([HPSWEEP, "compare", *leaderboards, "--objectives", "val_acc,params", "--json"],
                                             check=True, capture_output=True, text=True).stdout)
        volumes = {f["file"]: f["hypervolume"] for f in compared["fronts"]}
        for i, (sweep, epochs, seconds, best) in enumerate(rows):
            kind = "pareto" if sweep == "demo-pareto" else "plain"
            print(f"| {seed} | {kind} | {epochs} | {seconds:.1f} | {best:.3f} | {volumes[i + 1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
