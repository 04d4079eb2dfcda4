"""Peer benchmark for `hpsweep bench backbone`: the same ViT forward in PyTorch on this machine.

    python3 scripts/bench_backbone_torch.py [--config vit-b16] [--batch 32] [--threads 2] [--iterations 3] [--compute fp32|bf16]

Same work as the Swift command: random weights, random images, forward returning every tap z0..zL,
torch.inference_mode, float32 (or, with --compute bf16, CPU autocast to bfloat16: GEMMs in bf16,
LayerNorm and softmax in fp32, as `hpsweep bench backbone --compute bf16`), the given intra-op thread count."""
import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_peer import allocator, compute_context  # noqa: E402
from vit_reference import VisionTransformer  # noqa: E402

CONFIGS = {
    "vit-ti16": dict(image=224, patch=16, dim=192, depth=12, heads=3),
    "vit-s16": dict(image=224, patch=16, dim=384, depth=12, heads=6),
    "vit-b16": dict(image=224, patch=16, dim=768, depth=12, heads=12),
    "vit-b32": dict(image=224, patch=32, dim=768, depth=12, heads=12),
    "vit-l16": dict(image=224, patch=16, dim=1024, depth=24, heads=16),
}


def flops_per_image(image, patch, dim, depth, heads, mlp_ratio=4):
    n = (image // patch) ** 2 + 1
    patches, hidden = n - 1, dim * mlp_ratio
    embed = 2 * patches * 3 * patch * patch * dim
    block = 2 * n * dim * 3 * dim + 4 * n * n * dim + 2 * n * dim * dim + 4 * n * dim * hidden
    return embed + depth * block


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default="vit-b16", choices=sorted(CONFIGS))
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--compute", default="fp32", choices=["fp32", "bf16"])
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    model = VisionTransformer(**cfg).eval()
    images = torch.randn(args.batch, 3, cfg["image"], cfg["image"])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.config}, batch {args.batch}, {args.compute}, {allocator()}")
    times = []
    with torch.inference_mode(), compute_context(args.compute):
        for i in range(args.iterations + 1):
            start = time.perf_counter()
            taps = model.forward_taps(images)
            elapsed = time.perf_counter() - start
            assert torch.isfinite(taps[-2]).all()
            if i > 0:
                times.append(elapsed)
            print(f"  {'warm-up' if i == 0 else f'pass {i}'}: {elapsed:.3f} s")
    median = statistics.median(times)
    flops = flops_per_image(**cfg) * args.batch
    print(f"  forward: {median:.3f} s/batch, {args.batch / median:.2f} images/s, {flops / median / 1e9:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
