"""What the PyTorch peers (bench_backbone_torch.py, bench_sidenet_torch.py) share: the allocator line,
so that a ratio printed from a peer without tcmalloc is seen for what it is, and the compute context."""
import contextlib

import torch


def allocator():
    """'tcmalloc' when it is loaded into this process (LD_PRELOAD), else a warning."""
    with open("/proc/self/maps") as maps:
        if "tcmalloc" in maps.read():
            return "tcmalloc"
    return "glibc malloc (not a fair peer: preload tcmalloc, as PyTorch's CPU tuning guide advises)"


def compute_context(compute):
    """fp32, or CPU autocast to bfloat16 (GEMMs in bf16; LayerNorm, softmax and the loss in fp32)."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if compute == "bf16" else contextlib.nullcontext()
