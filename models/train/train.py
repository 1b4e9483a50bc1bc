"""Trains the shipped demo model from scratch on a CPU, in three stages:

1. vision pre-training: the ViT learns a CLIP-style joint image–text
   embedding (contrastive on captions) plus dense per-patch shape/colour
   supervision, which makes small objects legible to the projector;
2. projector alignment: ViT frozen, projector + language model learn to
   caption (LLaVA stage 1);
3. visual instruction tuning: everything trains on multi-turn conversations
   (colour, shape, presence, count, position, description, small talk).

Writes models/train/out/{weights.bin,manifest.json} (GGUF tensor names,
float32) for export.ts, and checkpoint.pt. Usage (npm run models:train):
    python3 models/train/train.py [--minutes-scale 1.0] [--seed 1]
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402
from model import BOS, EOS, MiniLlava, decode_ids, encode_text  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "out")
N_IMG_TOKENS = 36


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


# ---------------------------------------------------------------------------
# Data


def _make_example(seed):
    rng = random.Random(seed)
    scene = world.random_scene(rng)
    img = world.render(rng, scene)
    method = "old" if rng.random() < 0.7 else "pillow"
    pix = world.preprocess(img, method=method, jitter_rng=rng if rng.random() < 0.3 else None)
    shape_lbl, colour_lbl = world.patch_labels(scene)
    return scene, pix, shape_lbl, colour_lbl


def make_pool(n, seed0, procs=2):
    with mp.Pool(procs) as pool:
        items = pool.map(_make_example, range(seed0, seed0 + n), chunksize=64)
    scenes = [it[0] for it in items]
    pixels = torch.from_numpy(np.stack([it[1] for it in items])).permute(0, 3, 1, 2).contiguous()
    shape_lbl = torch.from_numpy(np.stack([it[2] for it in items]))
    colour_lbl = torch.from_numpy(np.stack([it[3] for it in items]))
    return scenes, pixels, shape_lbl, colour_lbl


def normalise(pixels_u8):
    return (pixels_u8.float() / 255.0 - 0.5) / 0.5


def conversation_ids(turns, with_image):
    """Token ids exactly as llama.cpp sees the rendered chat template
    (see lib/gguf/chat-template.ts): image markers become 36 slots."""
    ids, slots, loss = [BOS], [False], [False]

    def add(text_or_ids, is_loss=False):
        toks = encode_text(text_or_ids) if isinstance(text_or_ids, str) else text_or_ids
        ids.extend(toks)
        slots.extend([False] * len(toks))
        loss.extend([is_loss] * len(toks))

    for t, (q, a) in enumerate(turns):
        add("USER: ")
        if t == 0 and with_image:
            ids.extend([0] * N_IMG_TOKENS)
            slots.extend([True] * N_IMG_TOKENS)
            loss.extend([False] * N_IMG_TOKENS)
            add("\n")
        add(q + "\n")
        add("ASSISTANT: ")
        add(a, True)
        add([EOS], True)
        add("\n")
    return ids, slots, loss


def batch_from(convs):
    T = max(len(c[0]) for c in convs)
    B = len(convs)
    ids = torch.zeros(B, T, dtype=torch.long)
    slots = torch.zeros(B, T, dtype=torch.bool)
    loss = torch.zeros(B, T, dtype=torch.bool)
    for b, (i, s, l) in enumerate(convs):
        ids[b, : len(i)] = torch.tensor(i)
        slots[b, : len(s)] = torch.tensor(s)
        loss[b, : len(l)] = torch.tensor(l)
    return ids, slots, loss


def sample_turns(rng, scene, kinds=None, n=1):
    """`n` turns about one image, sometimes with small talk in between."""
    turns = []
    for i in range(n):
        if i > 0 and rng.random() < 0.3:
            turns.append(rng.choice(world.SMALL_TALK[4:]))
            continue
        _, q, a = world.questions(rng, scene, kind=rng.choice(kinds) if kinds else None)
        turns.append((q, a))
    return turns


# ---------------------------------------------------------------------------
# Stage 1: vision pre-training


class TextEncoder(nn.Module):
    """Character transformer for the CLIP-style caption embedding."""

    def __init__(self, d=96, out=64, n_layer=2):
        super().__init__()
        self.emb = nn.Embedding(400, d)
        self.pos = nn.Parameter(torch.randn(96, d) * 0.02)
        layer = nn.TransformerEncoderLayer(d, 4, 2 * d, dropout=0.0, batch_first=True, norm_first=True)
        self.enc = nn.TransformerEncoder(layer, n_layer)
        self.proj = nn.Linear(d, out)

    def forward(self, ids, mask):
        x = self.emb(ids) + self.pos[: ids.shape[1]]
        x = self.enc(x, src_key_padding_mask=~mask)
        x = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
        return F.normalize(self.proj(x), dim=-1)


class VisionHeads(nn.Module):
    def __init__(self, d=128, out=64):
        super().__init__()
        self.embed = nn.Linear(d, out)
        self.patch_shape = nn.Linear(d, 1 + len(world.SHAPES))
        self.patch_colour = nn.Linear(d, 1 + len(world.COLOUR_NAMES))
        self.count = nn.Linear(d, 3)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


def caption_batch(scenes):
    caps = [encode_text(world.describe(s))[:96] for s in scenes]
    T = max(len(c) for c in caps)
    ids = torch.zeros(len(caps), T, dtype=torch.long)
    mask = torch.zeros(len(caps), T, dtype=torch.bool)
    for i, c in enumerate(caps):
        ids[i, : len(c)] = torch.tensor(c)
        mask[i, : len(c)] = True
    return ids, mask


def stage1(model, pool, steps, rng):
    scenes, pixels, shape_lbl, colour_lbl = pool
    heads, text = VisionHeads(), TextEncoder()
    params = list(model.vision.parameters()) + list(heads.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    B = 64
    for step in range(steps):
        idx = [rng.randrange(len(scenes)) for _ in range(B)]
        feats = model.vision.features(normalise(pixels[idx]))
        pooled = feats.mean(1)
        img_emb = F.normalize(heads.embed(pooled), dim=-1)
        cap_ids, cap_mask = caption_batch([scenes[i] for i in idx])
        txt_emb = text(cap_ids, cap_mask)
        logits = heads.logit_scale.exp().clamp(max=100) * img_emb @ txt_emb.T
        # Identical captions are not negatives of each other.
        caps = [world.describe(scenes[i]) for i in idx]
        same = torch.tensor([[a == b for b in caps] for a in caps])
        targets = same.float() / same.float().sum(1, keepdim=True)
        contrastive = (-(targets * logits.log_softmax(1)).sum(1).mean() - (targets * logits.log_softmax(0)).sum(0).mean()) / 2
        dense = F.cross_entropy(heads.patch_shape(feats).flatten(0, 1), shape_lbl[idx].flatten() + 1) + F.cross_entropy(
            heads.patch_colour(feats).flatten(0, 1), colour_lbl[idx].flatten() + 1
        )
        count = F.cross_entropy(heads.count(pooled), torch.tensor([len(scenes[i]["objects"]) - 1 for i in idx]))
        loss = contrastive + dense + 0.5 * count
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == steps - 1:
            log(f"stage1 {step}/{steps} loss {loss.item():.3f} (clip {contrastive.item():.3f} dense {dense.item():.3f})")
    return heads, text


# ---------------------------------------------------------------------------
# Stages 2 and 3: language


def lm_step(model, opt, sched, pool, rng, B, kinds=None, text_only_frac=0.0, multi_turn_frac=0.0):
    scenes, pixels = pool[0], pool[1]
    convs, idx = [], []
    # Whole batches are single- or multi-turn, so padding stays small.
    n_turns = rng.choice([2, 3]) if rng.random() < multi_turn_frac else 1
    for _ in range(B):
        if rng.random() < text_only_frac:
            q, a = rng.choice(world.SMALL_TALK)
            convs.append(conversation_ids([(q, a)], with_image=False))
            idx.append(0)
        else:
            i = rng.randrange(len(scenes))
            convs.append(conversation_ids(sample_turns(rng, scenes[i], kinds, n_turns), with_image=True))
            idx.append(i)
    ids, slots, loss_mask = batch_from(convs)
    logits = model(ids, normalise(pixels[idx]), slots)
    tgt = ids[:, 1:]
    m = loss_mask[:, 1:]
    loss = F.cross_entropy(logits[:, :-1][m], tgt[m])
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    sched.step()
    return loss.item()


def train_lm(model, pool, steps, rng, lr, params, name, **kw):
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.05)
    for step in range(steps):
        loss = lm_step(model, opt, sched, pool, rng, **kw)
        if step % 100 == 0 or step == steps - 1:
            log(f"{name} {step}/{steps} loss {loss:.4f}")


# ---------------------------------------------------------------------------
# Greedy decoding (for evaluation and the agreement check)


@torch.no_grad()
def greedy(model, turns_so_far, question, pixels_u8=None, max_new=80):
    """Answer `question` after earlier (q, a) turns; image (uint8 HWC) in turn 1."""
    turns = list(turns_so_far) + [(question, "")]
    ids, slots, _ = conversation_ids(turns, with_image=pixels_u8 is not None)
    # Drop the empty answer's EOS and newline: the prompt ends with "ASSISTANT: ".
    ids, slots = ids[:-2], slots[:-2]
    images = None
    if pixels_u8 is not None:
        images = normalise(torch.from_numpy(np.ascontiguousarray(pixels_u8)).permute(2, 0, 1)[None])
    emb = model.embed(torch.tensor([ids]), images, torch.tensor([slots]))
    out = []
    for _ in range(max_new):
        logits = model.llm(emb)[0, -1]
        nxt = int(logits.argmax())
        if nxt == EOS:
            break
        out.append(nxt)
        emb = torch.cat([emb, model.llm.embed(torch.tensor([[nxt]]))], dim=1)
    return decode_ids(out)


def quick_eval(model, n, seed):
    rng = random.Random(seed)
    kinds = ["colour", "shape", "presence", "count", "position", "describe"]
    right = {k: 0 for k in kinds}
    total = {k: 0 for k in kinds}
    for i in range(n):
        scene, pix, _, _ = _make_example(10_000_000 + seed * 1000 + i)
        k = kinds[i % len(kinds)]
        kk, q, a = world.questions(rng, scene, kind=k)
        total[kk] += 1
        right[kk] += int(greedy(model, [], q, pix) == a)
    return {k: round(right[k] / total[k], 3) for k in kinds if total[k]}


# ---------------------------------------------------------------------------
# Export


def export(model, path_dir):
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
            mod = getattr(b, ours)
            tensors[f"v.blk.{i}.{theirs}.weight"] = mod.weight
            tensors[f"v.blk.{i}.{theirs}.bias"] = mod.bias
    for i, b in enumerate(l.blocks):
        for ours, theirs in [("attn_norm", "attn_norm"), ("q", "attn_q"), ("k", "attn_k"), ("v", "attn_v"),
                             ("o", "attn_output"), ("ffn_norm", "ffn_norm"), ("gate", "ffn_gate"), ("up", "ffn_up"),
                             ("down", "ffn_down")]:
            tensors[f"blk.{i}.{theirs}.weight"] = getattr(b, ours).weight
    manifest = {"vision": v.cfg, "llm": l.cfg, "tensors": {}}
    offset = 0
    with open(os.path.join(path_dir, "weights.bin"), "wb") as f:
        for name, t in tensors.items():
            arr = t.detach().float().contiguous().numpy()
            f.write(arr.tobytes())
            # ggml order is the reverse of PyTorch's shape; memory layout is the same.
            manifest["tensors"][name] = {"shape": list(reversed(arr.shape)), "offset": offset}
            offset += arr.nbytes
    with open(os.path.join(path_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every stage's step count")
    ap.add_argument("--pool", type=int, default=12000)
    ap.add_argument("--resume", action="store_true", help="start from out/checkpoint.pt and run stage 4 only")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(OUT, exist_ok=True)
    t0 = time.time()

    log(f"generating {args.pool} training images…")
    pool = make_pool(args.pool, seed0=args.seed * 1_000_000)
    log(f"pool ready in {time.time() - t0:.0f}s")

    model = MiniLlava()
    s = lambda n: max(1, int(n * args.scale))  # noqa: E731
    if args.resume:
        state = torch.load(os.path.join(OUT, "checkpoint.pt"), map_location="cpu")
        model.load_state_dict(state["model"])
        heads, text = VisionHeads(), TextEncoder()
        heads.load_state_dict(state["heads"])
        text.load_state_dict(state["text"])
        log("resumed from checkpoint.pt")
    else:
        heads, text = stage1(model, pool, s(1500), rng)
        log(f"stage 1 done at {time.time() - t0:.0f}s")

        for p in model.vision.parameters():
            p.requires_grad_(False)
        proj_lm = list(model.vision.mm0.parameters()) + list(model.vision.mm2.parameters()) + list(model.llm.parameters())
        for p in proj_lm:
            p.requires_grad_(True)
        train_lm(model, pool, s(800), rng, 3e-3, proj_lm, "stage2", B=32, kinds=["describe"], text_only_frac=0.05)
        log(f"stage 2 done at {time.time() - t0:.0f}s")

        for p in model.parameters():
            p.requires_grad_(True)
        train_lm(model, pool, s(3600), rng, 2e-3, list(model.parameters()), "stage3", B=32, text_only_frac=0.04,
                 multi_turn_frac=0.2)
        log(f"stage 3 done at {time.time() - t0:.0f}s")

    # Stage 4: the spatial questions (left/right, left-to-right descriptions)
    # learn slowest; more of them, at a lower rate.
    for p in model.parameters():
        p.requires_grad_(True)
    focus = ["position", "position", "position", "describe", "describe", "describe", "count", "colour", "shape", "presence"]
    train_lm(model, pool, s(2000), rng, 1e-3, list(model.parameters()), "stage4", B=32, kinds=focus,
             text_only_frac=0.03, multi_turn_frac=0.15)
    log(f"stage 4 done at {time.time() - t0:.0f}s")

    model.eval()
    export(model, OUT)
    torch.save({"model": model.state_dict(), "heads": heads.state_dict(), "text": text.state_dict()},
               os.path.join(OUT, "checkpoint.pt"))
    log("quick held-out accuracy (PyTorch):", quick_eval(model, 120, seed=7))
    log(f"total training time {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
