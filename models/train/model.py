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

import numpy as np
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
        if hasattr(F, "scaled_dot_product_attention"):
            a = F.scaled_dot_product_attention(q, k, v)
        else:  # PyTorch 1.x (Debian's python3-torch)
            a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1) @ v
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        return x + self.down(F.gelu(self.up(self.ln2(x)), approximate="tanh"))


class Vision(nn.Module):
    def __init__(self, image_size=64, patch=8, d=160, n_layer=4, n_head=4, d_ff=320, llm_d=192, proj_hidden=192):
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
    inv = base ** (-torch.arange(0, D, 2, dtype=torch.float32, device=x.device) / D)
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
        if hasattr(F, "scaled_dot_product_attention"):
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # PyTorch 1.x (Debian's python3-torch): scale and mask fused into one baddbmm
            # in chunks of about 2 M scores, which stay in the CPU's cache (several times faster here).
            qf, kf, vf = (t.reshape(B * self.n_head, T, hd) for t in (q, k, v))
            n = max(1, (1 << 21) // (T * T))
            a = torch.cat([
                torch.bmm(torch.softmax(torch.baddbmm(mask, qf[i : i + n], kf[i : i + n].transpose(1, 2),
                                                      alpha=1 / math.sqrt(hd)), -1), vf[i : i + n])
                for i in range(0, B * self.n_head, n)
            ]).view(B, self.n_head, T, hd)
        x = x + self.o(a.transpose(1, 2).reshape(B, T, D))
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, vocab=VOCAB_SIZE, d=192, n_layer=4, n_head=6, d_ff=512):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        nn.init.normal_(self.embed.weight, std=0.02)
        self.blocks = nn.ModuleList([LlamaBlock(d, n_head, d_ff) for _ in range(n_layer)])
        self.norm = RMSNorm(d)
        self.out = nn.Linear(d, vocab, bias=False)
        self.cfg = dict(vocab=vocab, d=d, n_layer=n_layer, n_head=n_head, d_ff=d_ff)

    def forward(self, emb):
        B, T, _ = emb.shape
        pos = torch.arange(T, device=emb.device)
        mask = torch.full((T, T), float("-inf"), device=emb.device).triu(1)
        x = emb
        for b in self.blocks:
            x = b(x, pos, mask)
        return self.out(self.norm(x))


class MiniLlava(nn.Module):
    def __init__(self, vision=None, llm=None):
        super().__init__()
        self.vision = Vision(**(vision or {}))
        self.llm = Llama(**(llm or {}))

    def embed(self, ids, images, image_slots):
        """ids: [B, T] with placeholder ids where image tokens go;
        image_slots: [B, T] bool; images: [N, 3, S, S] or None, every image
        of the batch in reading order (row by row, then left to right), so
        the slots filled in that order receive each image's tokens in turn."""
        return self.place(ids, self.vision(images) if images is not None and len(images) else None, image_slots)

    def place(self, ids, img, image_slots):
        """The token embeddings with the image tokens img ([N, n_tokens, d], projected) in the slots."""
        emb = self.llm.embed(ids)
        if img is not None:
            emb = emb.clone()
            emb[image_slots] = img.reshape(-1, img.shape[-1]).to(emb.dtype)
        return emb

    def forward(self, ids, images, image_slots):
        return self.llm(self.embed(ids, images, image_slots))


# ---------------------------------------------------------------------------
# GGUF tensor names (what lib/gguf/llava-files.ts writes), both ways


def gguf_tensor_map(model):
    """GGUF tensor name → the PyTorch parameter it holds."""
    v, l = model.vision, model.llm
    tensors = {
        "v.patch_embd.weight": v.patch_embd.weight,
        "v.patch_embd.bias": v.patch_embd.bias,
        "v.position_embd.weight": v.pos,
        "v.pre_ln.weight": v.pre_ln.weight,
        "v.pre_ln.bias": v.pre_ln.bias,
        "mm.0.weight": v.mm0.weight,
        "mm.0.bias": v.mm0.bias,
        "mm.2.weight": v.mm2.weight,
        "mm.2.bias": v.mm2.bias,
        "token_embd.weight": l.embed.weight,
        "output_norm.weight": l.norm.weight,
        "output.weight": l.out.weight,
    }
    for i, b in enumerate(v.blocks):
        for ours, theirs in [("ln1", "ln1"), ("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"), ("o", "attn_out"),
                             ("ln2", "ln2"), ("up", "ffn_up"), ("down", "ffn_down")]:
            tensors[f"v.blk.{i}.{theirs}.weight"] = getattr(b, ours).weight
            tensors[f"v.blk.{i}.{theirs}.bias"] = getattr(b, ours).bias
    for i, b in enumerate(l.blocks):
        for ours, theirs in [("attn_norm", "attn_norm"), ("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"),
                             ("o", "attn_output"), ("ffn_norm", "ffn_norm"), ("gate", "ffn_gate"), ("up", "ffn_up"),
                             ("down", "ffn_down")]:
            tensors[f"blk.{i}.{theirs}.weight"] = getattr(b, ours).weight
    return tensors


def read_gguf(path):
    """(metadata, {name: float32 numpy array in PyTorch order}) of a GGUF file
    with F32 tensors, the kind the project writes."""
    import struct

    import numpy as np

    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return vals[0] if len(vals) == 1 else vals

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos : pos + n].decode("utf-8")
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t in scalar:
            return take(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        raise ValueError(f"GGUF value type {t}")

    if data[:4] != b"GGUF":
        raise ValueError(f"{path} is not a GGUF file")
    pos = 4
    take("I")  # version
    n_tensors, n_kv = take("Q"), take("Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        ttype, offset = take("I"), take("Q")
        infos.append((name, dims, ttype, offset))
    align = meta.get("general.alignment", 32)
    base = (pos + align - 1) // align * align
    tensors = {}
    for name, dims, ttype, offset in infos:
        if ttype != 0:
            raise ValueError(f"{name}: only F32 tensors are read here (type {ttype})")
        count = int(np.prod(dims))
        arr = np.frombuffer(data, dtype="<f4", count=count, offset=base + offset)
        tensors[name] = arr.reshape(list(reversed(dims)))
    return meta, tensors


def load_gguf_pair(llm_path, mmproj_path):
    """The shipped GGUF pair as a MiniLlava (so the evaluation's PyTorch
    answers come from exactly the files the app runs, no checkpoint needed)."""
    lm_meta, lm = read_gguf(llm_path)
    v_meta, vis = read_gguf(mmproj_path)
    arch = lm_meta["general.architecture"]
    model = MiniLlava(
        vision=dict(
            image_size=v_meta["clip.vision.image_size"], patch=v_meta["clip.vision.patch_size"],
            d=v_meta["clip.vision.embedding_length"], n_layer=v_meta["clip.vision.block_count"] - 1,
            n_head=v_meta["clip.vision.attention.head_count"], d_ff=v_meta["clip.vision.feed_forward_length"],
            llm_d=v_meta["clip.vision.projection_dim"], proj_hidden=vis["mm.0.weight"].shape[0],
        ),
        llm=dict(
            vocab=lm["token_embd.weight"].shape[0], d=lm_meta[f"{arch}.embedding_length"],
            n_layer=lm_meta[f"{arch}.block_count"], n_head=lm_meta[f"{arch}.attention.head_count"],
            d_ff=lm_meta[f"{arch}.feed_forward_length"],
        ),
    )
    both = {**lm, **vis}
    with torch.no_grad():
        for name, p in gguf_tensor_map(model).items():
            p.copy_(torch.from_numpy(both[name].copy()).reshape(p.shape))
    return model


# ---------------------------------------------------------------------------
# Greedy decoding, many prompts at once (evaluation)


def normalise(pixels_u8):
    """uint8 pixels → what the encoder sees: (v/255 − 0.5)/0.5, as the GGUF's image_mean/std say."""
    return (pixels_u8.float() / 255.0 - 0.5) / 0.5


@torch.no_grad()
def batched_greedy(model, prompts, max_new=120, device="cpu"):
    """prompts: list of (ids, slots, [pixels_u8, …]). Causal attention means
    padding after a sequence's end never changes its logits, so all
    sequences grow in one right-padded batch."""
    B = len(prompts)
    lens = [len(p[0]) for p in prompts]
    T = max(lens) + max_new
    ids = torch.zeros(B, T, dtype=torch.long, device=device)
    slots = torch.zeros(B, T, dtype=torch.bool, device=device)
    for b, (i, s, _) in enumerate(prompts):
        ids[b, : len(i)] = torch.tensor(i, device=device)
        slots[b, : len(s)] = torch.tensor(s, device=device)
    pix = [p for pr in prompts for p in pr[2]]
    img_tokens = None
    if pix:
        img_tokens = model.vision(normalise(torch.from_numpy(np.stack(pix)).permute(0, 3, 1, 2).to(device)))
        img_tokens = img_tokens.reshape(-1, img_tokens.shape[-1])
    done = [False] * B
    out = [[] for _ in range(B)]
    for _ in range(max_new):
        upto = max(lens)
        emb = model.llm.embed(ids[:, :upto]).clone()
        if img_tokens is not None:
            emb[slots[:, :upto]] = img_tokens
        last = model.llm(emb)[torch.arange(B, device=device), torch.tensor(lens, device=device) - 1].argmax(-1).tolist()
        for b in range(B):
            if done[b]:
                continue
            nxt = last[b]
            if nxt == EOS:
                done[b] = True
                continue
            out[b].append(nxt)
            ids[b, lens[b]] = nxt
            lens[b] += 1
        if all(done):
            break
    return [(decode_ids(o), d) for o, d in zip(out, done)]


