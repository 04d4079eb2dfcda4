"""Benchmark of the cache stage against the bare backbone forward.

    python3 scripts/bench_cache.py [--images 256] [--config vit-b16] [--taps all] [--out /tmp/hpsweep-bench]

Makes a synthetic VTAB-1k task of JPEGs (500x375, like many VTAB photos) under --out, writes a sweep
file for it, runs `hpsweep cache` (decode + resize + backbone + fp16 write) under /usr/bin/time to get
its peak RSS, and prints the images/s next to `hpsweep bench backbone` on the same config.
Needs a release build (swift build -c release) and Pillow.
"""
import argparse
import json
import os
import re
import shutil
import subprocess

import numpy as np
from PIL import Image

BIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".build", "release", "hpsweep")


def make_task(root, count, width=500, height=375):
    task = os.path.join(root, "task")
    images = os.path.join(task, "images", "train800")
    if os.path.exists(os.path.join(task, "train800.txt")) and len(open(os.path.join(task, "train800.txt")).readlines()) == count:
        return
    shutil.rmtree(task, ignore_errors=True)
    os.makedirs(images)
    rng = np.random.RandomState(0)
    y, x = np.mgrid[0:height, 0:width]
    lines = []
    for i in range(count):
        planes = [127 + 100 * np.sin(x / (5 + 20 * rng.rand()) + 6 * rng.rand()) * np.cos(y / (5 + 20 * rng.rand())) for _ in range(3)]
        pixels = np.clip(np.stack(planes, -1) + rng.randn(height, width, 3) * 10, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(os.path.join(images, f"{i:05d}.jpg"), quality=90)
        lines.append(f"images/train800/{i:05d}.jpg {i % 10}\n")
    open(os.path.join(task, "train800.txt"), "w").writelines(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=256)
    parser.add_argument("--config", default="vit-b16")
    parser.add_argument("--taps", default="all", help="'all' or a JSON list such as [12]")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--out", default="/tmp/hpsweep-bench")
    parser.add_argument("--image-size", default="500x375", help="WIDTHxHEIGHT of the synthetic JPEGs")
    args = parser.parse_args()
    width, height = map(int, args.image_size.split("x"))
    root = os.path.join(args.out, f"n{args.images}-{args.image_size}")
    make_task(root, args.images, width, height)
    sweep = {"name": "bench", "backbone": {"random": args.config},
             "data": {"format": "vtab", "root": ".", "task": "task", "classes": 10,
                      "search": {"train": "train800", "eval": "train800"}, "final": {"train": "train800", "eval": "train800"}},
             "cache": {"dir": "cache", "batch_size": args.batch, "taps": args.taps if args.taps == "all" else json.loads(args.taps)}}
    path = os.path.join(root, "sweep.json")
    json.dump(sweep, open(path, "w"))
    shutil.rmtree(os.path.join(root, "cache"), ignore_errors=True)
    run = subprocess.run(["/usr/bin/time", "-v", BIN, "cache", path], capture_output=True, text=True)
    print(run.stdout)
    if run.returncode != 0:
        print(run.stderr)
        raise SystemExit(run.returncode)
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", run.stderr).group(1))
    rate = float(re.search(r"done in .* \(([\d.]+) images/s\)", run.stdout).group(1))
    print(f"cache build: {args.images} images, {rate:.2f} images/s, peak RSS {rss / 1024:.0f} MiB")
    bench = subprocess.run([BIN, "bench", "backbone", "--config", args.config, "--batch", str(args.batch), "--iterations", "2",
                            "--taps", "all" if args.taps == "all" else "last"], capture_output=True, text=True)
    forward = float(re.search(r"([\d.]+) images/s", bench.stdout).group(1))
    print(f"bare forward: {forward:.2f} images/s  ->  cache build / forward = {rate / forward:.2f}")
    shutil.rmtree(os.path.join(root, "cache"), ignore_errors=True)


if __name__ == "__main__":
    main()
