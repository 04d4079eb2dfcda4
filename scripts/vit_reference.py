"""A plain-PyTorch ViT that follows timm's vision_transformer.py (its module and key names, pre-norm
blocks, LayerNorm eps 1e-6, exact-erf GELU, fused scaled_dot_product_attention), used to make the
committed parity fixtures and as the peer in benchmarks. timm itself needs a matching torchvision,
which may not install here, so this re-states the same computation in ~60 lines."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        x = F.scaled_dot_product_attention(q, k, v)  # scale = head_dim ** -0.5, as timm
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))  # exact erf GELU


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio, eps):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, dim * mlp_ratio)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    def __init__(self, patch, channels, dim):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


class VisionTransformer(nn.Module):
    def __init__(self, image=224, patch=16, dim=768, depth=12, heads=12, mlp_ratio=4, channels=3, eps=1e-6):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, channels, dim)
        tokens = (image // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio, eps) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def random_init(self, generator):
        """Random weights with non-trivial LayerNorm and bias values, so parity tests exercise them."""
        for name, p in self.named_parameters():
            with torch.no_grad():
                if name.endswith("norm1.weight") or name.endswith("norm2.weight") or name == "norm.weight":
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=generator))
                elif name.endswith("bias"):
                    p.copy_(0.02 * torch.randn(p.shape, generator=generator))
                elif name in ("cls_token", "pos_embed"):
                    p.copy_(0.5 * torch.randn(p.shape, generator=generator))
                else:
                    fan_in = p[0].numel()
                    p.copy_(torch.randn(p.shape, generator=generator) / math.sqrt(fan_in))
        return self

    def forward_taps(self, x):
        """[z0, z1, ..., zL, norm(zL)]: z0 after pos_embed, zi after block i, then the final norm."""
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        taps = [x]
        for block in self.blocks:
            x = block(x)
            taps.append(x)
        taps.append(self.norm(x))
        return taps
