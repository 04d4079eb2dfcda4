"""The scheduler's rule against an older hpsweep's, on the demo (docs/sweep-spec.md, "Proposals and the
schedule"): sweeps/demo.json at sweep seeds 0, 1, 2, run by both binaries; for each, the wall time of
the whole run (the cache is built beforehand), the best val_acc of a finished trial and the front's
hypervolume (val_acc vs params) against the reference `hpsweep compare` makes common to both.

    swift build -c release
    python3 scripts/measure_schedule_quality.py --old OLD_HPSWEEP [--seeds 0,1,2] [--workers 2]

OLD_HPSWEEP: a release build of the earlier hpsweep (git worktree of the older commit, swift build -c release).
"""
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

from measure_pareto_halving import with_seed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEW = os.environ.get("HPSWEEP", os.path.join(ROOT, ".build", "release", "hpsweep"))


def main():
    args = sys.argv[1:]
    old = args[args.index("--old") + 1]
    seeds = [int(s) for s in args[args.index("--seeds") + 1].split(",")] if "--seeds" in args else [0, 1, 2]
    workers = args[args.index("--workers") + 1] if "--workers" in args else "2"
    work = tempfile.mkdtemp(prefix="hpsweep-schedule-quality-")
    results, cache = os.path.join(work, "results"), os.path.join(ROOT, ".hpsweep-cache")
    print(f"# sweeps and results in {work}; --workers {workers}", flush=True)
    print("| seed | rule | wall s | best val_acc | hypervolume |")
    print("|---|---|---|---|---|")
    for seed in seeds:
        rows, boards = [], []
        for tag, binary in (("old", old), ("new", NEW)):
            name, path = with_seed("demo", seed, work, tag)
            subprocess.run([binary, "cache", path, "--cache-dir", cache], check=True, stdout=subprocess.DEVNULL)
            start = time.monotonic()
            subprocess.run([binary, "run", path, "--results", results, "--cache-dir", cache, "--workers", workers],
                           check=True, stdout=subprocess.DEVNULL)
            wall = time.monotonic() - start
            board = os.path.join(results, name, "leaderboard.csv")
            finished = [r for r in csv.DictReader(open(board)) if r["status"] == "finished"]
            rows.append((tag, wall, max(float(r["val_acc"]) for r in finished)))
            boards.append(board)
        compared = json.loads(subprocess.run([NEW, "compare", *boards, "--objectives", "val_acc,params", "--json"],
                                             check=True, capture_output=True, text=True).stdout)
        volumes = {f["file"]: f["hypervolume"] for f in compared["fronts"]}
        for i, (tag, wall, best) in enumerate(rows):
            print(f"| {seed} | {tag} | {wall:.1f} | {best:.3f} | {volumes[i + 1]:.3f} |", flush=True)


if __name__ == "__main__":
    main()
