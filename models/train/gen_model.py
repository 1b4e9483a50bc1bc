"""The shape-world generator's networks: a word-level text encoder and a small
UNet that predicts the rectified-flow velocity of a 64×64 RGB image.

The UNet works on 4×4 pixel blocks (pixel-unshuffle: 64×64×3 → 16×16×48) so
that it is cheap on one CPU core; levels 16×16, 8×8 and 4×4, residual blocks
conditioned on time + the pooled prompt (scale/shift), cross-attention to the
prompt's word vectors at every level and self-attention at 8×8 and 4×4.
The UNet predicts the clean image (x-prediction, as in "Back to Basics: Let
Denoising Generative Models Denoise", Li & He 2025): a small pixel-space
network learns a clean image far faster than the noise, and the last Euler
step lands exactly on its estimate. The exported network returns the velocity
v = (x_t − x0̂)/t that the sampler integrates. Everything exports to ONNX with
plain ops (no fused attention).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(ctx_dim, dim, bias=False)
        self.v = nn.Linear(ctx_dim, dim, bias=False)
        self.o = nn.Linear(dim, dim)

    def forward(self, x, ctx, bias=None):
        B, N, D = x.shape
        M = ctx.shape[1]
        h = self.heads
        q = self.q(x).reshape(B, N, h, D // h).transpose(1, 2)
        k = self.k(ctx).reshape(B, M, h, D // h).transpose(1, 2)
        v = self.v(ctx).reshape(B, M, h, D // h).transpose(1, 2)
        s = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(D // h))
        if bias is not None:
            s = s + bias  # [B, 1, 1, M]
        a = torch.softmax(s, dim=-1)
        y = torch.matmul(a, v).transpose(1, 2).reshape(B, N, D)
        return self.o(y)


class TextEncoder(nn.Module):
    """Word ids [B, L] → word vectors [B, L, D], key bias [B, 1, 1, L] and a pooled vector [B, D]."""

    def __init__(self, vocab, dim=128, layers=2, heads=4, max_len=24):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.pos = nn.Parameter(torch.zeros(1, max_len, dim))
        nn.init.normal_(self.pos, std=0.02)
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(nn.ModuleDict({
                "ln1": nn.LayerNorm(dim), "attn": Attention(dim, dim, heads),
                "ln2": nn.LayerNorm(dim), "ff": nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim)),
            }))
        self.ln = nn.LayerNorm(dim)

    def forward(self, tokens):
        mask = (tokens != 0).float()  # [B, L]
        bias = ((1.0 - mask) * -1e4)[:, None, None, :]
        x = self.emb(tokens) + self.pos[:, : tokens.shape[1]]
        for b in self.blocks:
            y = b["ln1"](x)
            x = x + b["attn"](y, y, bias)
            x = x + b["ff"](b["ln2"](x))
        x = self.ln(x)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdim=True)
        return x, bias, pooled


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    a = t[:, None] * 1000.0 * freqs[None]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb_dim, cout * 2)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        s, b = self.e(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + s) + b
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class AttnBlock(nn.Module):
    """Self-attention (optional) then cross-attention to the prompt's words."""

    def __init__(self, ch, ctx_dim, heads=4, self_attn=True):
        super().__init__()
        self.self_attn = self_attn
        if self_attn:
            self.n1 = nn.GroupNorm(8, ch)
            self.sa = Attention(ch, ch, heads)
        self.n2 = nn.GroupNorm(8, ch)
        self.ca = Attention(ch, ctx_dim, heads)
        nn.init.zeros_(self.ca.o.weight)

    def forward(self, x, ctx, bias):
        B, C, H, W = x.shape
        if self.self_attn:
            y = self.n1(x).reshape(B, C, H * W).transpose(1, 2)
            x = x + self.sa(y, y).transpose(1, 2).reshape(B, C, H, W)
        y = self.n2(x).reshape(B, C, H * W).transpose(1, 2)
        return x + self.ca(y, ctx, bias).transpose(1, 2).reshape(B, C, H, W)


class UNet(nn.Module):
    def __init__(self, chans=(64, 128, 192), ctx_dim=128, emb_dim=256, block=4, layout_channels=10):
        super().__init__()
        self.block = block
        c0, c1, c2 = chans
        self.temb = nn.Sequential(nn.Linear(128, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.pemb = nn.Linear(ctx_dim, emb_dim)
        self.pos = nn.Parameter(torch.zeros(1, c0, 64 // block, 64 // block))
        nn.init.normal_(self.pos, std=0.02)
        self.inp = nn.Conv2d(3 * block * block, c0, 3, padding=1)
        # the layout map (16×16, gen_data.layout_map) enters at the two finest levels
        self.lay0 = nn.Conv2d(layout_channels, c0, 3, padding=1)
        self.lay1 = nn.Conv2d(layout_channels, c1, 3, padding=1)
        self.d0 = ResBlock(c0, c0, emb_dim)
        self.a0 = AttnBlock(c0, ctx_dim, self_attn=False)
        self.down0 = nn.Conv2d(c0, c1, 3, stride=2, padding=1)
        self.d1 = ResBlock(c1, c1, emb_dim)
        self.a1 = AttnBlock(c1, ctx_dim)
        self.down1 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.m1 = ResBlock(c2, c2, emb_dim)
        self.am = AttnBlock(c2, ctx_dim)
        self.m2 = ResBlock(c2, c2, emb_dim)
        self.up1 = nn.Conv2d(c2, c1 * 4, 1)  # pixel-shuffle up
        self.u1 = ResBlock(c1 * 2, c1, emb_dim)
        self.ua1 = AttnBlock(c1, ctx_dim)
        self.up0 = nn.Conv2d(c1, c0 * 4, 1)
        self.u0 = ResBlock(c0 * 2, c0, emb_dim)
        self.ua0 = AttnBlock(c0, ctx_dim, self_attn=False)
        self.out_n = nn.GroupNorm(8, c0)
        self.out = nn.Conv2d(c0, 3 * block * block, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x, t, ctx, bias, pooled, layout):
        emb = self.temb(timestep_embedding(t, 128)) + self.pemb(pooled)
        emb = F.silu(emb)
        h = F.pixel_unshuffle(x, self.block)
        h0 = self.inp(h) + self.pos + self.lay0(layout)
        h0 = self.a0(self.d0(h0, emb), ctx, bias)
        h1 = self.down0(h0) + self.lay1(F.avg_pool2d(layout, 2))
        h1 = self.a1(self.d1(h1, emb), ctx, bias)
        h2 = self.down1(h1)
        h2 = self.m2(self.am(self.m1(h2, emb), ctx, bias), emb)
        u1 = F.pixel_shuffle(self.up1(h2), 2)
        u1 = self.ua1(self.u1(torch.cat([u1, h1], 1), emb), ctx, bias)
        u0 = F.pixel_shuffle(self.up0(u1), 2)
        u0 = self.ua0(self.u0(torch.cat([u0, h0], 1), emb), ctx, bias)
        out = self.out(F.silu(self.out_n(u0)))
        return F.pixel_shuffle(out, self.block)


class Generator(nn.Module):
    def __init__(self, vocab, text_dim=128, chans=(64, 128, 192), layout_channels=10):
        super().__init__()
        self.text = TextEncoder(vocab, text_dim)
        self.unet = UNet(chans, ctx_dim=text_dim, layout_channels=layout_channels)

    def forward(self, x, t, tokens, layout):
        """The network's estimate of the clean image x0 (x-prediction)."""
        ctx, bias, pooled = self.text(tokens)
        return self.unet(x, t, ctx, bias, pooled, layout)

    def velocity(self, x, t, ctx, bias, pooled, layout, t_min=0.01):
        """v = (x_t − x0̂) / t: what the Euler sampler integrates (t ≥ 1/max_steps at sampling)."""
        x0 = self.unet(x, t, ctx, bias, pooled, layout)
        return (x - x0) / torch.clamp(t, min=t_min)[:, None, None, None]


class TextExport(nn.Module):
    """ONNX: tokens → (ctx, bias, pooled)."""

    def __init__(self, g):
        super().__init__()
        self.g = g

    def forward(self, tokens):
        return self.g.text(tokens)


class VelocityExport(nn.Module):
    """ONNX: one Euler step's velocity for a batch (cond and uncond rows), from the x-prediction."""

    def __init__(self, g):
        super().__init__()
        self.g = g

    def forward(self, x, t, ctx, bias, pooled, layout):
        return self.g.velocity(x, t, ctx, bias, pooled, layout)
