#!/usr/bin/env python3
"""Journal mutation pass: every field of every kind of line of a sweep's journal, set in turn to
extreme and mistyped values, then the commands that read journals run on the copy. A finding is an
exit status of 128 or more (a trap or a signal) or a command that does not end in time.

    swift build -c release
    python3 scripts/mutate_journal.py results/demo sweeps/demo.json            # status, leaderboard, report, export, compare
    python3 scripts/mutate_journal.py results/demo sweeps/demo.json --run      # and resume (`run`), slower

RESULTS_DIR must hold a finished sweep (the demo's takes a minute to make). The copies go to a
temporary directory; the sweep's own files are never written. docs/fuzzing.md has the last results.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

EXTREMES = [2**62, -(2**62), -1, 0, 1e308, -1e308, 1e19, 2**31, "nan", "x", None, True, [], {}]
RUN_EXTREMES = [2**62, -1, 1e308, "nan", "x", None]


def leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value[:2]):
            yield from leaves(item, path + (index,))
    else:
        yield path, value


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="a finished sweep's results directory (holding journal.jsonl)")
    parser.add_argument("sweep", help="its sweep file (for --run)")
    parser.add_argument("--hpsweep", default=".build/release/hpsweep")
    parser.add_argument("--run", action="store_true", help="also resume the sweep on each mutation")
    parser.add_argument("--only", help="only fields whose event or path contains this text")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()

    hpsweep = os.path.abspath(args.hpsweep)
    sweep = os.path.abspath(args.sweep)
    name = os.path.basename(os.path.normpath(args.results))
    with open(os.path.join(args.results, "journal.jsonl")) as f:
        events = [json.loads(line) for line in f if line.strip()]
    for event in events:
        event.pop("crc32", None)  # lines without a CRC are read unchecked, so edits stay readable

    # One mutation site per kind of line and field (list positions folded).
    sites = {}
    for index, event in enumerate(events):
        for path, value in leaves(event):
            if path and path[0] == "spec":
                continue  # the recorded sweep file: validated as a sweep file, fuzzed by the `sweep` target
            key = (event["event"], tuple("#" if isinstance(p, int) else p for p in path))
            sites.setdefault(key, (index, path, value))

    commands = [
        lambda d: [hpsweep, "status", d],
        lambda d: [hpsweep, "leaderboard", d],
        lambda d: [hpsweep, "report", d, "--output", d + "/../report.html"],
        lambda d: [hpsweep, "export", "--optuna", d, d + "/../optuna.log"],
        lambda d: [hpsweep, "compare", d + "/leaderboard.csv", d + "/leaderboard.csv"],
    ]
    if args.run:
        commands = [lambda d: [hpsweep, "run", sweep, "--results", os.path.dirname(d)]]
    extremes = RUN_EXTREMES if args.run else EXTREMES

    findings = tried = 0
    with tempfile.TemporaryDirectory(prefix="mutate-journal-") as scratch:
        for (kind, folded), (index, path, value) in sites.items():
            if args.only and args.only not in kind + ".".join(map(str, folded)):
                continue
            for extreme in extremes:
                if type(extreme) is type(value) and extreme == value:
                    continue
                work = os.path.join(scratch, "w")
                shutil.rmtree(work, ignore_errors=True)
                directory = os.path.join(work, name)
                shutil.copytree(args.results, directory)
                mutated = json.loads(json.dumps(events))
                target = mutated[index]
                for p in path[:-1]:
                    target = target[p]
                target[path[-1]] = extreme
                with open(os.path.join(directory, "journal.jsonl"), "w") as f:
                    for event in mutated:
                        f.write(json.dumps(event, separators=(",", ":")) + "\n")
                for command in commands:
                    argv = command(directory)
                    tried += 1
                    try:
                        done = subprocess.run(argv, capture_output=True, text=True, timeout=args.timeout)
                        status, last = done.returncode, (done.stderr.strip().splitlines() or [""])[-1]
                    except subprocess.TimeoutExpired:
                        status, last = "timeout", ""
                    if status == "timeout" or status < 0 or status >= 128:
                        findings += 1
                        print(f"{kind} {'.'.join(map(str, path))}={extreme!r}: {argv[1]} -> {status} {last[:200]}",
                              flush=True)
    print(f"{len(sites)} fields, {tried} runs, {findings} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
