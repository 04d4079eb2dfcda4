"""What warm_start buys on sweeps/suite-demo.json: the suite run cold (no warm_start) and warm
("previous_tasks") at several sweep seeds, and for each task after the first, the trials the warm
sweep needs to reach the cold sweep's best validation accuracy (configurations in proposal order).

    swift build -c release
    python3 scripts/measure_warm_start.py [--seeds 0 1 2 3 4] [--out /tmp/warm-start]

Prints a Markdown table (docs/sweep-spec.md, "Warm start", holds the figures). Needs only the
standard library; the suite's data is committed (scripts/make_suite_demo.py).
"""
import argparse
import csv
import json
import os
import statistics
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
SUITE = os.path.join(ROOT, "sweeps", "suite-demo.json")
HPSWEEP = os.environ.get("HPSWEEP", os.path.join(ROOT, ".build", "release", "hpsweep"))
AFTER = [1, 3, 6, 12]   # best validation accuracy after this many trials


def run_suite(seed, warm, out):
    with open(SUITE) as f:
        spec = json.load(f)
    spec["seed"] = seed
    spec["data"]["root"] = os.path.abspath(os.path.join(os.path.dirname(SUITE), spec["data"]["root"]))
    if not warm:
        spec.pop("warm_start", None)
    name = f"{'warm' if warm else 'cold'}-{seed}"
    spec["name"] = name
    path = os.path.join(out, f"{name}.json")
    with open(path, "w") as f:
        json.dump(spec, f, indent=2)
    subprocess.run([HPSWEEP, "run", path, "--results", out], check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, name), [t["name"] for t in spec["tasks"]]


def accuracies(directory):
    """Validation accuracy of each configuration, in proposal (config) order."""
    with open(os.path.join(directory, "leaderboard.csv")) as f:
        rows = list(csv.DictReader(f))
    rows.sort(key=lambda r: int(r["config"]))
    return [float(r["val_acc"]) for r in rows]


def trials_to_reach(accs, target):
    for k, a in enumerate(accs):
        if a >= target - 1e-9:
            return k + 1
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--out", default="/tmp/warm-start")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = {}
    for seed in args.seeds:
        cold, tasks = run_suite(seed, False, args.out)
        warm, _ = run_suite(seed, True, args.out)
        for task in tasks[1:]:
            c = accuracies(os.path.join(cold, task))
            w = accuracies(os.path.join(warm, task))
            best = max(c)
            results.setdefault(task, []).append({
                "cold_best": best, "cold_needs": trials_to_reach(c, best), "warm_needs": trials_to_reach(w, best),
                "warm_best": max(w), "trials": len(c),
                "cold_after": [max(c[:k]) for k in AFTER], "warm_after": [max(w[:k]) for k in AFTER],
            })
    after = " | ".join(f"best after {k}, cold → warm" for k in AFTER)
    print(f"| task | seeds | cold: trials to its best (mean) | warm: trials to reach it (mean; not reached) | {after} |")
    print("|---|---|---|---|" + "---|" * len(AFTER))
    for task, rs in results.items():
        reached = [r["warm_needs"] for r in rs if r["warm_needs"] is not None]
        missed = len(rs) - len(reached)
        cells = " | ".join(f"{statistics.mean(r['cold_after'][i] for r in rs):.3f} → {statistics.mean(r['warm_after'][i] for r in rs):.3f}"
                           for i in range(len(AFTER)))
        print(f"| {task} | {len(rs)} | {statistics.mean(r['cold_needs'] for r in rs):.1f} | "
              f"{(statistics.mean(reached) if reached else float('nan')):.1f}; {missed} of {len(rs)} | {cells} |")
    cold_all = [r["cold_after"] for rs in results.values() for r in rs]
    warm_all = [r["warm_after"] for rs in results.values() for r in rs]
    print("| all tasks after the first | " + str(len(cold_all)) + " | | | "
          + " | ".join(f"{statistics.mean(c[i] for c in cold_all):.3f} → {statistics.mean(w[i] for w in warm_all):.3f}" for i in range(len(AFTER))) + " |")
    print()
    for task, rs in results.items():
        print(task, "per seed (cold needs, warm needs):", [(r["cold_needs"], r["warm_needs"]) for r in rs])


if __name__ == "__main__":
    main()
