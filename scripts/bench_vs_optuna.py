"""The same sweep three ways, one after another on this machine: Optuna + PyTorch the usual way, Optuna +
PyTorch over a hand-made feature cache, and hpsweep.

    scripts/setup --with-peers       # torch==2.13.0+cpu, numpy, optuna and tcmalloc (preloaded for the PyTorch ways)
    swift build -c release
    python3 scripts/bench_vs_optuna.py sweeps/demo.json [--threads 2] [--ways usual,cached,hpsweep]

Reads the sweep file hpsweep reads (numpy data splits; a `random` backbone preset or a timm-named
safetensors file) and runs its search each way:
  usual    Optuna's TPE sampler (the sweep's startup count and seed) and SuccessiveHalvingPruner (the
           sweep's min_epochs and reduction_factor) over the sweep's trial count; each trial a PyTorch
           loop that runs the frozen backbone (eval, no_grad) on every batch of every epoch, then the
           side network; then the best finished trial of each method retrained on data.final.train and
           scored on data.final.eval, as hpsweep's final phase does (final_top 1).
  cached   the same, but the backbone runs once up front, once per distinct image, into in-memory tensors (float16, as hpsweep's
           cache stores them, widened per batch).
  hpsweep  `hpsweep run` of the same sweep from an empty cache, in a scratch results directory.
A `random` preset is drawn once here and written as a timm-named safetensors file, which both the
PyTorch ways and hpsweep (through a copy of the sweep pointing at it) then load.

The backbone is scripts/vit_reference.py (timm's VisionTransformer forward, checked against timm by the
fixture tests), not timm itself: PyPI's torchvision, which timm imports, does not load with the CPU torch.
Side networks are those of scripts/bench_sidenet_torch.py (shared/METHODS.md in PyTorch). Differences
that change accuracy but not the work: images resized by torch's bicubic (hpsweep is PIL-exact), and
PyTorch's default initialisation where hpsweep has its own. Optuna's pruner is single-objective, so the
PyTorch ways search on the sweep's first objective (val_acc). Peak RSS is each way's own process.
"""
import argparse
import copy
import hashlib
import json
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_sidenet_torch import LAST, LST, Adapters, LinearProbe  # noqa: E402
from vit_reference import VisionTransformer  # noqa: E402

PRESETS = {  # hpsweep's ViTConfig presets
    "vit-tiny-test": dict(image=32, patch=8, dim=96, depth=4, heads=3),
    "vit-ti16": dict(image=224, patch=16, dim=192, depth=12, heads=3),
    "vit-s16": dict(image=224, patch=16, dim=384, depth=12, heads=6),
    "vit-b16": dict(image=224, patch=16, dim=768, depth=12, heads=12),
}


TCMALLOC = next((p for p in ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
                              "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4") if os.path.exists(p)), None)


def fail(message):
    sys.exit(f"bench_vs_optuna: {message}")


# MARK: - Weights as safetensors (written and read here: no extra package)

def save_safetensors(tensors, path):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for b in blobs:
            f.write(b)


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    dtypes = {"F32": np.float32, "F16": np.float16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in dtypes:
            fail(f"{path}: tensor {name} is {info['dtype']}; this script reads F32/F16")
        a, b = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(body[a:b], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).astype(np.float32))
    return out


def backbone_from_weights(path, heads):
    w = load_safetensors(path)
    dim = w["cls_token"].shape[-1]
    patch = w["patch_embed.proj.weight"].shape[-1]
    depth = 1 + max(int(m.group(1)) for k in w if (m := re.match(r"blocks\.(\d+)\.", k)))
    tokens = w["pos_embed"].shape[1]
    image = int(round(math.sqrt(tokens - 1))) * patch
    if heads is None:
        fail(f"{path}: give the backbone's 'heads' in the sweep file")
    vit = VisionTransformer(image=image, patch=patch, dim=dim, depth=depth, heads=heads)
    state = {k: v for k, v in w.items() if not k.startswith("head")}
    vit.load_state_dict(state, strict=True)
    return vit.eval(), dict(image=image, patch=patch, dim=dim, depth=depth, heads=heads)


# MARK: - The sweep file

def load_sweep(path):
    with open(path) as f:
        spec = json.load(f)
    base = os.path.dirname(os.path.abspath(path))
    data = spec["data"]
    if data.get("format") != "numpy":
        fail(f"{path}: data.format must be 'numpy' here (VTAB list files are not read by this script)")
    return spec, base


def resolve(base, p):
    return p if os.path.isabs(p) else os.path.join(base, p)


def load_split(spec, base, name, image, mean, std):
    s = spec["data"]["splits"][name]
    x = np.load(resolve(base, s["images"]))
    y = torch.from_numpy(np.load(resolve(base, s["labels"])).astype(np.int64))
    if x.dtype == np.float32 and x.ndim == 4 and x.shape[1] == 3:
        return torch.from_numpy(x), y
    t = torch.from_numpy(x.astype(np.float32) / 255)
    t = t.unsqueeze(1).expand(-1, 3, -1, -1) if t.ndim == 3 else (t.permute(0, 3, 1, 2) if t.shape[-1] == 3 else t.permute(0, 3, 1, 2).expand(-1, 3, -1, -1))
    t = F.interpolate(t, size=(image, image), mode="bicubic", align_corners=False)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    sd = torch.tensor(std).view(1, 3, 1, 1)
    return ((t - m) / sd).contiguous(), y


def suggest(trial, name, value):
    if isinstance(value, dict):
        if "loguniform" in value:
            a, b = value["loguniform"]
            return trial.suggest_float(name, a, b, log=True)
        if "uniform" in value:
            a, b = value["uniform"]
            return trial.suggest_float(name, a, b)
        if "choice" in value:
            return trial.suggest_categorical(name, value["choice"])
        fail(f"hyperparameter {name}: {value} is not loguniform/uniform/choice")
    return value


DEFAULTS = dict(lr=1e-3, weight_decay=1e-4, batch_size=64, warmup=0.1, rank=32, heads=1, gap=1, bottleneck=32, reduction=8)


def make_network(method, h, shape, classes):
    D, L, H = shape["dim"], shape["depth"], shape["heads"]
    if method == "linear":
        net = LinearProbe(D, L, classes)
    elif method == "last":
        net = LAST(D, L, classes, h["rank"], h["heads"], h["gap"])
        for o in net.out:
            torch.nn.init.zeros_(o.weight)
    elif method == "adapter":
        net = Adapters(D, L, classes, h["bottleneck"])
    elif method == "lst":
        net = LST(D, L, classes, h["reduction"], H)
    else:
        fail(f"unknown method {method}")
    return net


# MARK: - Training a trial

def train(net, epochs, h, batches, evaluate, report=None):
    """AdamW (decay on matrices only), linear warmup then cosine to 0 per step; returns the best val acc."""
    decay = [p for n, p in net.named_parameters() if p.ndim >= 2]
    rest = [p for n, p in net.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": h["weight_decay"]}, {"params": rest, "weight_decay": 0}], lr=h["lr"])
    steps_per_epoch = len(batches(0))
    total, warm = epochs * steps_per_epoch, max(1, int(h["warmup"] * epochs * steps_per_epoch))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / warm if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    best = 0.0
    for epoch in range(epochs):
        net.train()
        for taps, y in batches(epoch):
            loss = F.cross_entropy(net(taps), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        acc = evaluate(net)
        best = max(best, acc)
        if report:
            report(acc, epoch + 1)
    return best


class Features:
    """Taps per batch: from the backbone every time (usual) or from a cache built once (cached). The
    cached way runs each distinct image once, as a careful user would (and hpsweep's cache does):
    train800val200 is train800 and val200 again, and reuses their taps. Each distinct image's taps are
    kept once, and a split is a list of indices into them, as in hpsweep's cache format 2."""

    def __init__(self, vit, taps, cached):
        self.vit, self.taps, self.cached = vit, taps, cached
        self.backbone_seconds = 0.0
        self.backbone_images = 0
        self.rows = []         # per distinct image: its float16 taps
        self.index = {}        # split name -> the row of each of its examples
        self.by_content = {}   # image bytes' digest -> its row

    def _run(self, x):
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.vit.forward_taps(x)
        self.backbone_seconds += time.perf_counter() - start
        self.backbone_images += len(x)
        return {i: out[i].clone() for i in self.taps}

    def prepare(self, name, x, batch=32):
        if not self.cached or name in self.index:
            return
        digests = [hashlib.sha256(x[k].numpy().tobytes()).hexdigest() for k in range(len(x))]
        new = []
        for k, d in enumerate(digests):
            if d not in self.by_content:
                self.by_content[d] = len(self.rows) + len(new)
                new.append(k)
        for start in range(0, len(new), batch):
            out = self._run(x[new[start:start + batch]])
            self.rows.extend([out[i][j].half() for i in self.taps] for j in range(len(out[self.taps[0]])))
        self.index[name] = [self.by_content[d] for d in digests]

    def batch(self, name, x, index):
        if self.cached:
            rows = [self.rows[self.index[name][k]] for k in index.tolist()]
            return {i: torch.stack([r[t] for r in rows]).float() for t, i in enumerate(self.taps)}
        return self._run(x[index])


def run_way(way, spec, base, vit, shape, threads, usual_epochs=None):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(threads)
    # hpsweep flushes subnormal floats to zero (they cost a microcode assist each on x86); so does this peer.
    torch.set_flush_denormal(True)
    data = spec["data"]
    mean, std = data.get("mean", [0.485, 0.456, 0.406]), data.get("std", [0.229, 0.224, 0.225])
    search, final = data.get("search", {"train": "train800", "eval": "val200"}), data.get("final", {"train": "train800val200", "eval": "test"})
    splits = {n: load_split(spec, base, n, shape["image"], mean, std) for n in {search["train"], search["eval"], final["train"], final["eval"]}}
    classes = data["classes"]
    feats = Features(vit, list(range(shape["depth"] + 1)), cached=(way == "cached"))
    start = time.perf_counter()
    for n in (search["train"], search["eval"]):
        feats.prepare(n, splits[n][0])
    epochs = spec.get("epochs", 10)
    trials = spec.get("trials", 20) * (spec.get("seeds", 1) if isinstance(spec.get("seeds", 1), int) else len(spec["seeds"]))
    partial = way == "usual" and usual_epochs is not None
    if partial:  # a fixed fraction: the study's first trial for usual_epochs epochs, no final phase
        epochs, trials = usual_epochs, 1
    methods = spec["methods"]
    seed = spec.get("seed", 0)
    stopping = spec.get("early_stopping", {})
    sampler_spec = spec.get("sampler", {})
    sampler = optuna.samplers.TPESampler(n_startup_trials=sampler_spec.get("startup", 10), seed=seed)
    pruner = (optuna.pruners.SuccessiveHalvingPruner(min_resource=stopping.get("min_epochs", 1), reduction_factor=stopping.get("reduction_factor", 3))
              if stopping.get("type") == "successive_halving" else optuna.pruners.NopPruner())
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)

    def hyper(trial_or_params, method):
        h = dict(DEFAULTS)
        for name, value in {**spec.get("space", {}), **(methods[method] or {})}.items():
            h[name] = trial_or_params(f"{method}.{name}", value)
        return h

    def loaders(name, batch, rng_seed):
        x, y = splits[name]

        def batches(epoch):
            g = torch.Generator().manual_seed(rng_seed * 1000 + epoch)
            return _Batches(feats, name, x, y, torch.randperm(len(y), generator=g), batch)
        return batches

    def evaluator(name):
        x, y = splits[name]

        def evaluate(net):
            net.eval()
            correct = 0
            with torch.no_grad():
                for i in range(0, len(y), 64):
                    idx = torch.arange(i, min(i + 64, len(y)))
                    correct += (net(feats.batch(name, x, idx)).argmax(1) == y[idx]).sum().item()
            return correct / len(y)
        return evaluate

    def objective(trial):
        method = trial.suggest_categorical("method", sorted(methods))
        h = hyper(lambda n, v: suggest(trial, n, v), method)
        torch.manual_seed(seed * 100003 + trial.number)
        net = make_network(method, h, shape, classes)

        def report(acc, epoch):
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return train(net, epochs, h, loaders(search["train"], h["batch_size"], trial.number), evaluator(search["eval"]), report)

    study.optimize(objective, n_trials=trials)
    search_seconds = time.perf_counter() - start
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    sizes = {n: len(splits[n][1]) for n in splits}
    work = dict(trial_epochs=sum(len(t.intermediate_values) for t in study.trials), final_epochs=0,
                search_images=sizes[search["train"]] + sizes[search["eval"]], final_images=sizes[final["train"]] + sizes[final["eval"]])
    if partial:
        seconds = time.perf_counter() - start
        return dict(way=way, partial=True, seconds=seconds, search_seconds=seconds, final_seconds=0.0, backbone_seconds=feats.backbone_seconds,
                    backbone_images=feats.backbone_images, trials=len(study.trials), finished=len(done), pruned=pruned,
                    best_val_acc=max((t.value for t in done), default=float("nan")), best_test_acc=float("nan"), **work)
    # Final phase: the best finished trial of each method on final.train, scored on final.eval.
    final_start = time.perf_counter()
    for n in (final["train"], final["eval"]):
        feats.prepare(n, splits[n][0])
    tests = {}
    for method in sorted({t.params["method"] for t in done}):
        best = max((t for t in done if t.params["method"] == method), key=lambda t: t.value)
        h = hyper(lambda n, v: best.params.get(n, v if not isinstance(v, dict) else None), method)
        torch.manual_seed(seed * 100003 + best.number)
        net = make_network(method, h, shape, classes)
        tests[method] = train(net, epochs, h, loaders(final["train"], h["batch_size"], best.number), evaluator(final["eval"]))
        work["final_epochs"] += epochs
    total = time.perf_counter() - start
    return dict(way=way, seconds=total, search_seconds=search_seconds, final_seconds=total - search_seconds,
                backbone_seconds=feats.backbone_seconds, backbone_images=feats.backbone_images, trials=len(study.trials), finished=len(done), pruned=pruned,
                best_val_acc=max((t.value for t in done), default=float("nan")), best_test_acc=max(tests.values(), default=float("nan")), **work)


class _Batches:
    """One epoch's batches, made when taken: the usual way runs the backbone then, the cached way widens its float16 taps."""

    def __init__(self, feats, name, x, y, order, batch):
        self.feats, self.name, self.x, self.y, self.order, self.batch = feats, name, x, y, order, batch

    def __len__(self):
        return (len(self.y) + self.batch - 1) // self.batch

    def __iter__(self):
        for i in range(0, len(self.y), self.batch):
            idx = self.order[i:i + self.batch]
            yield self.feats.batch(self.name, self.x, idx), self.y[idx]


# MARK: - hpsweep

def run_hpsweep(sweep_path, hpsweep, workdir, threads):
    results, cache = os.path.join(workdir, "results"), os.path.join(workdir, "cache")
    command = [hpsweep, "run", sweep_path, "--results", results, "--cache-dir", cache, "--workers", str(threads), "--threads", str(threads)]
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        fail(f"hpsweep run failed ({status}):\n{output[-2000:]}")
    cache_line = re.search(r"backbone once \(the cache\) ([0-9.]+) s", output)
    images_line = re.search(r"building [^:]*: (\d+) distinct images", output)
    counts = re.search(r"(\d+) trials: (\d+) finished(?:, (\d+) pruned)?", output)
    name = json.load(open(sweep_path))["name"]
    import csv
    rows = list(csv.DictReader(open(os.path.join(results, name, "leaderboard.csv"))))
    vals = [float(r["val_acc"]) for r in rows if r["status"] == "finished" and r["val_acc"]]
    tests = [float(r["test_acc"]) for r in rows if r.get("test_acc")]
    return dict(way="hpsweep", seconds=seconds, backbone_seconds=float(cache_line.group(1)) if cache_line else float("nan"),
                backbone_images=int(images_line.group(1)) if images_line else -1,
                trials=int(counts.group(1)) if counts else len(rows), finished=int(counts.group(2)) if counts else len(vals),
                pruned=int(counts.group(3) or 0) if counts else 0, best_val_acc=max(vals, default=float("nan")),
                best_test_acc=max(tests, default=float("nan")), peak_rss_mib=usage.ru_maxrss / 1024)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sweep")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--ways", default="usual,cached,hpsweep")
    parser.add_argument("--hpsweep", default=os.path.join(HERE, "..", ".build", "release", "hpsweep"))
    parser.add_argument("--usual-epochs", type=int, metavar="E",
                        help="time only a fixed fraction of the usual way (its first trial for E epochs) and estimate the whole from it and the cached way")
    parser.add_argument("--one", help=argparse.SUPPRESS)          # internal: run one PyTorch way in this process
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    args = parser.parse_args()
    spec, base = load_sweep(args.sweep)
    backbone = spec["backbone"]

    if args.one:
        vit, shape = backbone_from_weights(args.weights, backbone.get("heads") or PRESETS.get(backbone.get("random", ""), {}).get("heads"))
        result = run_way(args.one, spec, base, vit, shape, args.threads, args.usual_epochs)
        import resource
        result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print("RESULT " + json.dumps(result))
        return

    workdir = tempfile.mkdtemp(prefix="bench-vs-optuna-")
    derived = copy.deepcopy(spec)
    if "random" in backbone:
        preset = PRESETS.get(backbone["random"]) or fail(f"unknown preset {backbone['random']}")
        vit = VisionTransformer(**preset)
        vit.random_init(torch.Generator().manual_seed(backbone.get("seed", 0)))
        weights = os.path.join(workdir, "backbone.safetensors")
        save_safetensors(vit.state_dict(), weights)
        derived["backbone"] = {"weights": weights, "heads": preset["heads"]}
    else:
        weights = resolve(base, backbone["weights"])
        derived["backbone"]["weights"] = weights
    for split in derived["data"]["splits"].values():
        for key in ("images", "labels"):
            split[key] = resolve(base, split[key])
    derived_path = os.path.join(workdir, "sweep.json")
    json.dump(derived, open(derived_path, "w"), indent=1)

    if TCMALLOC is None:
        fail("tcmalloc is not installed, and PyTorch without it is not a fair peer (about 2x slower); run scripts/setup --with-peers")
    print(f"bench_vs_optuna: {args.sweep}, {args.threads} threads, scratch {workdir}")
    print("  " + subprocess.run(["grep", "-m1", "model name", "/proc/cpuinfo"], capture_output=True, text=True).stdout.strip())
    if os.path.exists(args.hpsweep):
        print("  " + subprocess.run([args.hpsweep, "version"], capture_output=True, text=True).stdout.replace("\n", "; ").strip("; "))
    print(f"  torch {torch.__version__}, {args.threads} intra-op threads")
    results = {}
    for way in args.ways.split(","):
        if way == "hpsweep":
            results[way] = run_hpsweep(derived_path, args.hpsweep, workdir, args.threads)
        elif way in ("usual", "cached"):
            # PyTorch's CPU tuning guide preloads tcmalloc; without it the side-network steps run about 2× slower.
            fraction = ["--usual-epochs", str(args.usual_epochs)] if args.usual_epochs else []
            out = subprocess.run([sys.executable, __file__, args.sweep, "--one", way, "--weights", weights, "--threads", str(args.threads)] + fraction,
                                 capture_output=True, text=True, env=dict(os.environ, LD_PRELOAD=TCMALLOC))
            line = next((ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if out.returncode != 0 or line is None:
                fail(f"way {way} failed:\n{out.stderr[-3000:]}")
            results[way] = json.loads(line[7:])
        else:
            fail(f"unknown way '{way}' (usual, cached, hpsweep)")
        r = results[way]
        if r.get("partial"):
            print(f"  {way:8s} {r['seconds']:8.1f} s for a fraction: its first trial's {r['trial_epochs']} epochs (backbone {r['backbone_seconds']:.1f} s, "
                  f"{r['backbone_images']} images, {r['backbone_images'] / r['backbone_seconds']:.2f} images/s)  peak RSS {r['peak_rss_mib']:.0f} MiB")
            continue
        print(f"  {way:8s} {r['seconds']:8.1f} s (backbone {r['backbone_seconds']:.1f} s, {r['backbone_images']} images)  trials {r['trials']}: {r['finished']} finished, "
              f"{r['pruned']} pruned  best val_acc {r['best_val_acc']:.4f}  best test_acc {r['best_test_acc']:.4f}  peak RSS {r['peak_rss_mib']:.0f} MiB")
    usual = results.get("usual")
    if usual and usual.get("partial"):
        cached = results.get("cached") or fail("--usual-epochs estimates the usual way from the cached one: run both (--ways usual,cached,...)")
        # The usual way is the cached way's study with the backbone run on every batch instead of once: the cached
        # way's time without its backbone, plus the passes the usual way makes at the rate it was measured at.
        images = cached["trial_epochs"] * cached["search_images"] + cached["final_epochs"] * cached["final_images"]
        rate = usual["backbone_images"] / usual["backbone_seconds"]
        seconds = cached["seconds"] - cached["backbone_seconds"] + images / rate
        results["usual"] = dict(usual, seconds=seconds, backbone_seconds=images / rate, backbone_images=images)
        print(f"  usual    {seconds:8.1f} s estimated: the cached way's {cached['seconds'] - cached['backbone_seconds']:.1f} s without its backbone, plus "
              f"{images} backbone images ({cached['trial_epochs']} search epochs of {cached['search_images']}, {cached['final_epochs']} final of "
              f"{cached['final_images']}) at the {rate:.2f} images/s measured ({usual['backbone_images'] / images:.1%} of them run)")
    if "hpsweep" in results:
        for way in ("usual", "cached"):
            if way in results:
                print(f"  hpsweep / {way}: {results['hpsweep']['seconds'] / results[way]['seconds']:.3f} of the time "
                      f"({results[way]['seconds'] / results['hpsweep']['seconds']:.2f}x faster)")


if __name__ == "__main__":
    main()
