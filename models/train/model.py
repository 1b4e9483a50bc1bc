"""The miniature LLaVA in PyTorch, written to compute exactly what llama.cpp
computes for the GGUF files it is exported to (see lib/gguf/llava-files.ts):

- vision: a CLIP-style ViT (patch conv, learned positions, pre-LayerNorm,
  pre-norm blocks with tanh-GELU MLPs), no class token, no post-norm;
- projector: LLaVA-1.5 `mlp` (Linear → GELU → Linear) into the LLM width;
- language model: llama (RMSNorm, RoPE on adjacent pairs = ggml's "normal"
  mode, SwiGLU), untied output head.

Tokenizer: the character-level SentencePiece vocabulary of
lib/gguf/spm-vocab.ts (354 tokens), with add_space_prefix off.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------
# Tokenizer (mirrors buildSpmVocab() and llama.cpp's SPM tokenizer for a
# vocabulary of single characters: no merges can apply).

UNK, BOS, EOS = 0, 1, 2
BYTE0 = 3
SPACE = 3 + 256
PRINTABLE0 = SPACE + 1  # '!' .. '~'
VOCAB_SIZE = 3 + 256 + 1 + 94


def encode_text(text):
    ids = []
    for ch in text:
        o = ord(ch)
        if ch == " ":
            ids.append(SPACE)
        elif 0x21 <= o <= 0x7E:
            ids.append(PRINTABLE0 + o - 0x21)
        else:
            ids.extend(BYTE0 + b for b in ch.encode("utf-8"))
    return ids


def decode_ids(ids):
    out = bytearray()
    for i in ids:
        if i == SPACE:
            out += b" "
        elif PRINTABLE0 <= i < VOCAB_SIZE:
            out += bytes([0x21 + i - PRINTABLE0])
        elif BYTE0 <= i < SPACE:
            out += bytes([i - BYTE0])
    return out.decode("utf-8", errors="replace")


# ---------------------------------------------------------------------------
# Vision encoder + projector


class ViTBlock(nn.Module):
    def __init__(self, d, n_head, d_ff):
        super().__init__()
        self.ln1 = nn.LayerNorm(d, eps=1e-5)
        self.q = nn.Linear(d, d)
        self.k = nn.Linear(d, d)
        self.v = nn.Linear(d, d)
        self.o = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d, eps=1e-5)
        self.up = nn.Linear(d, d_ff)
        self.down = nn.Linear(d_ff, d)
        self.n_head = n_head

    def forward(self, x):
        B, T, D = x.shape
        h = self.ln1(x)
        hd = D // self.n_head
        q = self.q(h).view(B, T, self.n_head, hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.n_head, hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.n_head, hd).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(B, T, D))
        return x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))


class Vision(nn.Module):
    def __init__(self, image_size=48, patch=8, d=128, n_layer=4, n_head=4, d_ff=256, llm_d=128, proj_hidden=128):
        super().__init__()
        self.patch_embd = nn.Conv2d(3, d, patch, stride=patch)
        n_pos = (image_size // patch) ** 2
        self.pos = nn.Parameter(torch.randn(n_pos, d) * 0.02)
        self.pre_ln = nn.LayerNorm(d, eps=1e-5)
        self.blocks = nn.ModuleList([ViTBlock(d, n_head, d_ff) for _ in range(n_layer)])
        self.mm0 = nn.Linear(d, proj_hidden)
        self.mm2 = nn.Linear(proj_hidden, llm_d)
        self.cfg = dict(image_size=image_size, patch=patch, d=d, n_layer=n_layer, n_head=n_head, d_ff=d_ff,
                        proj_hidden=proj_hidden, llm_d=llm_d)

    def features(self, pixels):
        """pixels: float [B, 3, H, W], already normalised ((v/255 − 0.5)/0.5)."""
        x = self.patch_embd(pixels).flatten(2).transpose(1, 2)
        x = self.pre_ln(x + self.pos)
        for b in self.blocks:
            x = b(x)
        return x

    def project(self, feats):
        return self.mm2(F.gelu(self.mm0(feats), approximate="tanh"))

    def forward(self, pixels):
        return self.project(self.features(pixels))


# ---------------------------------------------------------------------------
# Language model


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, base=10000.0):
    """ggml 'normal' RoPE: rotates adjacent pairs (x[2i], x[2i+1])."""
    B, H, T, D = x.shape
    inv = base ** (-torch.arange(0, D, 2, dtype=torch.float32) / D)
    ang = pos[:, None].float() * inv[None, :]  # T, D/2
    cos, sin = ang.cos(), ang.sin()
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1)
    return out.flatten(-2)


class LlamaBlock(nn.Module):
    def __init__(self, d, n_head, d_ff):
        super().__init__()
        self.attn_norm = RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d)
        self.gate = nn.Linear(d, d_ff, bias=False)
        self.up = nn.Linear(d, d_ff, bias=False)
        self.down = nn.Linear(d_ff, d, bias=False)
        self.n_head = n_head

    def forward(self, x, pos, mask):
        B, T, D = x.shape
        hd = D // self.n_head
        h = self.attn_norm(x)
        q = rope(self.q(h).view(B, T, self.n_head, hd).transpose(1, 2), pos)
        k = rope(self.k(h).view(B, T, self.n_head, hd).transpose(1, 2), pos)
        v = self.v(h).view(B, T, self.n_head, hd).transpose(1, 2)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        x = x + self.o((torch.softmax(att, -1) @ v).transpose(1, 2).reshape(B, T, D))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, vocab=VOCAB_SIZE, d=128, n_layer=3, n_head=4, d_ff=384):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = nn.ModuleList([LlamaBlock(d, n_head, d_ff) for _ in range(n_layer)])
        self.norm = RMSNorm(d)
        self.out = nn.Linear(d, vocab, bias=False)
        self.cfg = dict(vocab=vocab, d=d, n_layer=n_layer, n_head=n_head, d_ff=d_ff)

    def forward(self, emb):
        B, T, _ = emb.shape
        pos = torch.arange(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        x = emb
        for b in self.blocks:
            x = b(x, pos, mask)
        return self.out(self.norm(x))


class MiniLlava(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision = Vision()
        self.llm = Llama()

    def embed(self, ids, images, image_slots):
        """ids: [B, T] with placeholder ids where image tokens go;
        image_slots: [B, T] bool; images: [B, 3, 48, 48] or None."""
        emb = self.llm.embed(ids)
        if images is not None:
            img = self.vision(images)  # B, 36, d
            emb = emb.clone()
            for b in range(ids.shape[0]):
                idx = image_slots[b].nonzero().flatten()
                if len(idx):
                    emb[b, idx] = img[b, : len(idx)]
        return emb

    def forward(self, ids, images, image_slots):
        return self.llm(self.embed(ids, images, image_slots))
