"""Trains the shipped demo model from scratch, on a CPU or a GPU, in four stages:

1. vision pre-training: the ViT learns a CLIP-style joint image–text
   embedding (contrastive on captions) plus dense per-patch shape/colour
   supervision, which makes small objects legible to the projector;
2. projector alignment: ViT frozen, projector + language model learn to
   caption (LLaVA stage 1);
3. visual instruction tuning: everything trains on conversations: one
   image over several turns, new images in later turns, several images in
   one message, paraphrased and re-cased questions, refusals for what the
   model cannot know, long pasted text, system prompts, small talk;
4. the same at a lower rate, weighted towards multi-object scenes and the
   spatial questions (left/right, left-to-right descriptions).

The run is sized by wall-clock time (`--budget-seconds`), split between the
stages in fixed fractions, with learning rates scheduled on the fraction of
the stage's time used; the log records the steps each stage ran.

Writes models/train/out/{weights.bin,manifest.json} (GGUF tensor names,
float32) for export.ts, checkpoint.pt and train.log. Usage:
    python3 models/train/train.py [--budget-seconds 4800] [--device cpu|cuda] [--seed 1]
    python3 models/train/train.py --finetune --budget-seconds 3000   (a fifth stage on models/tiny)
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import random
import sys
import time
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402
from model import BOS, EOS, MiniLlava, batched_greedy, encode_text, gguf_tensor_map, load_gguf_pair, normalise  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "out")
N_IMG_TOKENS = (world.IMAGE_SIZE // 8) ** 2
STAGE_FRACTIONS = {"stage1": 0.14, "stage2": 0.05, "stage3": 0.53, "stage4": 0.28}
_LOG = None


def log(*a):
    line = " ".join(str(x) for x in (f"[{time.strftime('%H:%M:%S')}]",) + a)
    print(line, flush=True)
    if _LOG:
        _LOG.write(line + "\n")
        _LOG.flush()


# ---------------------------------------------------------------------------
# Images


def _make_example(job):
    """job: a seed, or (seed, background style) for world.render."""
    seed, background = job if isinstance(job, tuple) else (job, "light")
    rng = random.Random(seed)
    scene = world.random_scene(rng)
    img = world.render(rng, scene, background)
    method = "old" if rng.random() < 0.7 else "pillow"
    pix = world.preprocess(img, method=method, jitter_rng=rng if rng.random() < 0.3 else None)
    shape_lbl, colour_lbl = world.patch_labels(scene)
    return scene, pix, shape_lbl, colour_lbl


def _stack(items):
    scenes = [it[0] for it in items]
    pixels = torch.from_numpy(np.stack([it[1] for it in items])).permute(0, 3, 1, 2).contiguous()
    shape_lbl = torch.from_numpy(np.stack([it[2] for it in items]))
    colour_lbl = torch.from_numpy(np.stack([it[3] for it in items]))
    return scenes, pixels, shape_lbl, colour_lbl


class ImagePool:
    """The training images, rendered by worker processes. The first part is
    ready at once; the rest renders while stage 1 trains on what is there."""

    def __init__(self, n, seed0, procs, first_fraction, device, background="light"):
        self.device = device
        self.workers = mp.Pool(procs)
        n_first = n if first_fraction >= 1 else max(1000, int(n * first_fraction))

        def jobs(a, b):
            return range(a, b) if background == "light" else [(s, background) for s in range(a, b)]

        first = self.workers.map(_make_example, jobs(seed0, seed0 + n_first), chunksize=64)
        self.rest = None
        if n_first < n:
            self.rest = self.workers.map_async(_make_example, jobs(seed0 + n_first, seed0 + n), chunksize=64)
        self._set(_stack(first))

    def _set(self, parts):
        self.scenes = parts[0]
        self.pixels, self.shape_lbl, self.colour_lbl = (t.to(self.device) for t in parts[1:])

    def complete(self):
        """Waits for the rest of the images and adds them; frees the workers."""
        if self.rest is not None:
            scenes, pixels, shape_lbl, colour_lbl = _stack(self.rest.get())
            self.scenes = self.scenes + scenes
            self.pixels = torch.cat([self.pixels, pixels.to(self.device)])
            self.shape_lbl = torch.cat([self.shape_lbl, shape_lbl.to(self.device)])
            self.colour_lbl = torch.cat([self.colour_lbl, colour_lbl.to(self.device)])
            self.rest = None
        self.workers.close()
        self.workers.join()


# ---------------------------------------------------------------------------
# Conversations, tokenised exactly as llama.cpp sees the rendered chat
# template (lib/engine/prompt.ts): an optional system line, then
# `USER: <image>\n<image>\nquestion\nASSISTANT: answer</s>\n` per turn, each
# image marker replaced by N_IMG_TOKENS slots.


def conversation_ids(turns, system=None):
    """turns: [(n_images, question, answer)]; the loss covers the answers."""
    ids, slots, loss = [BOS], [False], [False]

    def add(text_or_ids, is_loss=False):
        toks = encode_text(text_or_ids) if isinstance(text_or_ids, str) else text_or_ids
        ids.extend(toks)
        slots.extend([False] * len(toks))
        loss.extend([is_loss] * len(toks))

    if system:
        add(system + "\n")
    for n_images, q, a in turns:
        add("USER: ")
        for _ in range(n_images):
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


def prompt_ids(turns, system=None):
    """The prompt for the last turn's answer (its answer is ignored): ends with 'ASSISTANT: '."""
    ids, slots, _ = conversation_ids(list(turns[:-1]) + [(turns[-1][0], turns[-1][1], "")], system)
    return ids[:-2], slots[:-2]


_SCENES = None


def _init_worker(scenes):
    global _SCENES
    _SCENES = scenes


def _pick(rng, focus_multi):
    """A pool index; with focus_multi, scenes with 2–3 shapes twice as often."""
    while True:
        i = rng.randrange(len(_SCENES))
        if not focus_multi or len(_SCENES[i]["objects"]) > 1 or rng.random() < 0.5:
            return i


def _single_image(rng, kinds, focus_multi):
    """One image in turn 1, 1–3 turns about it (small talk in between)."""
    i = _pick(rng, focus_multi)
    scene = _SCENES[i]
    n = rng.choice([1, 1, 1, 2, 3])
    turns = []
    for t in range(n):
        if t > 0 and rng.random() < 0.2:
            q, a = rng.choice(world.SMALL_TALK[4:])
        elif rng.random() < 0.04:
            q, a = world.vary(rng, rng.choice(world.OFF_WORLD)), world.REFUSAL
        else:
            _, q, a = world.questions(rng, scene, kind=rng.choice(kinds) if kinds else None)
        turns.append((1 if t == 0 else 0, q, a))
    return turns, [i]


def _later_images(rng, kinds, focus_multi):
    """A new image arrives in a later turn; the question is about it."""
    a_i, b_i = _pick(rng, focus_multi), _pick(rng, focus_multi)
    _, q1, a1 = world.questions(rng, _SCENES[a_i], kind=rng.choice(kinds) if kinds else None)
    _, q2, a2 = world.questions(rng, _SCENES[b_i], kind=rng.choice(kinds) if kinds else None)
    turns = [(1, q1, a1), (1, q2, a2)]
    images = [a_i, b_i]
    if rng.random() < 0.4:  # and a follow-up, still about the newest image
        _, q3, a3 = world.questions(rng, _SCENES[b_i], kind=rng.choice(kinds) if kinds else None)
        turns.append((0, q3, a3))
    return turns, images


def _several_images(rng, kinds=None):
    """2–4 images in one message; kinds (optional) weights the question kinds."""
    n = rng.choice([2, 2, 3, 3, 4])
    idx = [rng.randrange(len(_SCENES)) for _ in range(n)]
    pick = (lambda: rng.choice(kinds)) if kinds else (lambda: None)
    _, q, a = world.multi_image_question(rng, [_SCENES[i] for i in idx], kind=pick())
    turns = [(n, q, a)]
    if rng.random() < 0.25:
        _, q2, a2 = world.multi_image_question(rng, [_SCENES[i] for i in idx], kind=pick())
        turns.append((0, q2, a2))
    return turns, idx


def _text_only(rng):
    r = rng.random()
    if r < 0.35:
        q, a = rng.choice(world.SMALL_TALK)
        return [(0, world.vary(rng, q, 0.2), a)], []
    if r < 0.6:
        return [(0, world.vary(rng, rng.choice(world.OFF_WORLD)), world.REFUSAL)], []
    if r < 0.8:  # a question about an image that was never sent
        _, q, _ = world.questions(rng, _SCENES[rng.randrange(len(_SCENES))])
        return [(0, q, world.NEED_IMAGE)], []
    return [(0, world.rambling(rng, 100, 500), world.REFUSAL)], []


def _with_image_refusal(rng):
    i = rng.randrange(len(_SCENES))
    q = world.rambling(rng, 100, 500) if rng.random() < 0.35 else world.vary(rng, rng.choice(world.OFF_WORLD))
    return [(1, q, world.REFUSAL)], [i]


def make_lm_batch(args):
    """One training batch of token ids (numpy) and the pool indices of its
    images in reading order. Whole batches are of one kind, so padding stays small."""
    seed, B, kinds, focus_multi, mode, mix, multi_kinds = args
    rng = random.Random(seed)
    convs, images = [], []
    if mode is None:
        # mix: the share of batches of each kind.
        mix = mix or {"single": 0.62, "later": 0.10, "several": 0.16, "other": 0.12}
        r, acc = rng.random(), 0.0
        for mode, share in mix.items():
            acc += share
            if r < acc:
                break
    # About the same number of tokens per batch, whatever the kind.
    B = max(2, round(B * {"later": 0.6, "several": 0.3, "other": 0.5}.get(mode, 1.0)))
    for _ in range(B):
        if mode == "describe":
            i = rng.randrange(len(_SCENES))
            _, q, a = world.questions(rng, _SCENES[i], kind="describe")
            turns, imgs = [(1, q, a)], [i]
        elif mode == "single":
            turns, imgs = _single_image(rng, kinds, focus_multi)
        elif mode == "later":
            turns, imgs = _later_images(rng, kinds, focus_multi)
        elif mode == "several":
            turns, imgs = _several_images(rng, multi_kinds)
        else:
            turns, imgs = _text_only(rng) if rng.random() < 0.6 else _with_image_refusal(rng)
        system = rng.choice(world.SYSTEM_PROMPTS) if rng.random() < 0.12 else None
        convs.append(conversation_ids(turns, system))
        images.extend(imgs)
    T = max(len(c[0]) for c in convs)
    ids = np.zeros((B, T), dtype=np.int64)
    slots = np.zeros((B, T), dtype=bool)
    loss = np.zeros((B, T), dtype=bool)
    for b, (i, s, l) in enumerate(convs):
        ids[b, : len(i)] = i
        slots[b, : len(s)] = s
        loss[b, : len(l)] = l
    return ids, slots, loss, np.array(images, dtype=np.int64)


class Batches:
    """Batches built by worker processes, a bounded number ahead."""

    def __init__(self, scenes, procs, rng):
        self.rng = rng
        self.pool = mp.Pool(procs, initializer=_init_worker, initargs=(scenes,)) if procs > 1 else None
        if self.pool is None:
            _init_worker(scenes)
        self.ahead = max(4, 3 * procs)
        self.queue = deque()
        self.spec = None

    def configure(self, **spec):
        self.spec = spec
        # Batches built for the previous stage are dropped (a pool's jobs are waited for first).
        for job in self.queue:
            if self.pool:
                job.get()
        self.queue.clear()

    def _submit(self):
        s = self.spec
        args = (self.rng.randrange(2**62), s["B"], s.get("kinds"), s.get("focus_multi", False), s.get("mode"), s.get("mix"),
                s.get("multi_kinds"))
        self.queue.append(self.pool.apply_async(make_lm_batch, (args,)) if self.pool else args)

    def next(self):
        while len(self.queue) < (self.ahead if self.pool else 1):
            self._submit()
        job = self.queue.popleft()
        return job.get() if self.pool else make_lm_batch(job)

    def close(self):
        if self.pool:
            self.pool.terminate()


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
    def __init__(self, d, out=64):
        super().__init__()
        self.embed = nn.Linear(d, out)
        self.patch_shape = nn.Linear(d, 1 + len(world.SHAPES))
        self.patch_colour = nn.Linear(d, 1 + len(world.COLOUR_NAMES))
        self.count = nn.Linear(d, 3)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))


def caption_batch(scenes, device):
    caps = [encode_text(world.describe(s))[:96] for s in scenes]
    T = max(len(c) for c in caps)
    ids = torch.zeros(len(caps), T, dtype=torch.long)
    mask = torch.zeros(len(caps), T, dtype=torch.bool)
    for i, c in enumerate(caps):
        ids[i, : len(c)] = torch.tensor(c)
        mask[i, : len(c)] = True
    return ids.to(device), mask.to(device)


def schedule(opt, lr, frac, warm=0.05):
    """Linear warm-up, then cosine decay to a tenth, on the fraction of the stage's time used."""
    f = frac / warm if frac < warm else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, (frac - warm) / (1 - warm))))
    for g in opt.param_groups:
        g["lr"] = lr * f


def stage1(model, pool, seconds, rng, device, B):
    scenes, pixels, shape_lbl, colour_lbl = pool.scenes, pool.pixels, pool.shape_lbl, pool.colour_lbl
    heads, text = VisionHeads(model.vision.cfg["d"]).to(device), TextEncoder().to(device)
    params = list(model.vision.parameters()) + list(heads.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.01)
    t0, step = time.time(), 0
    while (frac := (time.time() - t0) / seconds) < 1:
        schedule(opt, 2e-3, frac, warm=0.1)
        idx = [rng.randrange(len(scenes)) for _ in range(B)]
        it = torch.tensor(idx, device=device)
        feats = model.vision.features(normalise(pixels[it]))
        pooled = feats.mean(1)
        img_emb = F.normalize(heads.embed(pooled), dim=-1)
        caps = [world.describe(scenes[i]) for i in idx]
        cap_ids, cap_mask = caption_batch([scenes[i] for i in idx], device)
        txt_emb = text(cap_ids, cap_mask)
        logits = heads.logit_scale.exp().clamp(max=100) * img_emb @ txt_emb.T
        # Identical captions are not negatives of each other.
        same = torch.tensor([[a == b for b in caps] for a in caps], device=device)
        targets = same.float() / same.float().sum(1, keepdim=True)
        contrastive = (-(targets * logits.log_softmax(1)).sum(1).mean() - (targets * logits.log_softmax(0)).sum(0).mean()) / 2
        dense = F.cross_entropy(heads.patch_shape(feats).flatten(0, 1), shape_lbl[it].flatten() + 1) + F.cross_entropy(
            heads.patch_colour(feats).flatten(0, 1), colour_lbl[it].flatten() + 1
        )
        count = F.cross_entropy(heads.count(pooled), torch.tensor([len(scenes[i]["objects"]) - 1 for i in idx], device=device))
        loss = contrastive + dense + 0.5 * count
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 200 == 0:
            log(f"stage1 step {step} ({frac:.0%}) loss {loss.item():.3f} (clip {contrastive.item():.3f} dense {dense.item():.3f})")
        step += 1
    log(f"stage1: {step} steps of {B} images")
    return heads, text


# ---------------------------------------------------------------------------
# Stages 2–4: language


def train_lm(model, pixels, batches, seconds, lr, params, name, device, prep=normalise, **spec):
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    batches.configure(**spec)
    t0, step, seen = time.time(), 0, 0
    while (frac := (time.time() - t0) / max(seconds, 1e-3)) < 1:
        schedule(opt, lr, frac)
        ids, slots, loss_mask, images = (torch.from_numpy(x).to(device, non_blocking=True) for x in batches.next())
        logits = model(ids, prep(pixels[images]) if len(images) else None, slots)
        m = loss_mask[:, 1:]
        loss = F.cross_entropy(logits[:, :-1][m], ids[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        seen += ids.shape[0]
        if step % 200 == 0:
            log(f"{name} step {step} ({frac:.0%}) loss {loss.item():.4f}")
        step += 1
    log(f"{name}: {step} steps, {seen} conversations")


# ---------------------------------------------------------------------------
# Greedy decoding (the quick held-out check at the end)


def quick_eval(model, n, seed, device):
    """A fast look at held-out accuracy in PyTorch (npm run models:eval is the real evaluation)."""
    rng = random.Random(seed)
    kinds = ["colour", "shape", "presence", "count", "position", "describe"]
    cases = []  # (group, turns-prompt, images, expected)
    for i in range(n):
        scene, pix, _, _ = _make_example(10_000_000 + seed * 1000 + i)
        k = kinds[i % len(kinds)]
        kk, q, a = world.questions(rng, scene, kind=k, style="canonical")
        cases.append((kk, q, [pix], a))
        _, q, a = world.questions(rng, scene, kind=k, style="paraphrase")
        cases.append(("paraphrase", q, [pix], a))
        if i % 3 == 0:
            others = [_make_example(20_000_000 + seed * 1000 + i * 4 + j) for j in range(rng.choice([1, 2]))]
            _, q, a = world.multi_image_question(rng, [scene] + [o[0] for o in others], surface=False)
            cases.append(("multi_image", q, [pix] + [o[1] for o in others], a))
            cases.append(("refusal", rng.choice(world.HELDOUT_OFF_WORLD), [pix], world.REFUSAL))
        # The same kinds of question on dark, coloured and textured backgrounds.
        scene, pix, _, _ = _make_example((30_000_000 + seed * 1000 + i, "other"))
        _, q, a = world.questions(rng, scene, kind=k, style="canonical")
        cases.append(("background", q, [pix], a))
    right, total = {}, {}
    for start in range(0, len(cases), 64):
        chunk = cases[start : start + 64]
        prompts = [(*prompt_ids([(len(imgs), q, "")]), imgs) for _, q, imgs, _ in chunk]
        for (g, _, _, a), (text, _) in zip(chunk, batched_greedy(model, prompts, device=device)):
            total[g] = total.get(g, 0) + 1
            right[g] = right.get(g, 0) + int(text == a)
    return {g: round(right[g] / total[g], 3) for g in total}


# ---------------------------------------------------------------------------
# Export


def export(model, path_dir):
    manifest = {"vision": model.vision.cfg, "llm": model.llm.cfg, "tensors": {}}
    offset = 0
    with open(os.path.join(path_dir, "weights.bin"), "wb") as f:
        for name, t in gguf_tensor_map(model).items():
            arr = t.detach().float().cpu().contiguous().numpy()
            f.write(arr.tobytes())
            # ggml order is the reverse of PyTorch's shape; memory layout is the same.
            manifest["tensors"][name] = {"shape": list(reversed(arr.shape)), "offset": offset}
            offset += arr.nbytes
    with open(os.path.join(path_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def save(model, args, device, t0):
    """weights.bin + manifest.json (for export.ts) and checkpoint.pt, then the quick PyTorch check."""
    model.eval()
    export(model, args.out)
    torch.save({"model": {k: v.cpu() for k, v in model.state_dict().items()}}, os.path.join(args.out, "checkpoint.pt"))
    log("quick held-out accuracy (PyTorch):", quick_eval(model, args.quick_eval, seed=7, device=device))
    log(f"total time {time.time() - t0:.0f}s")


def setup(args, gpu):
    """Worker processes, batch size, device, threads, seed and the log: (procs, B, device, start time)."""
    global _LOG
    procs = args.procs or max(1, (os.cpu_count() or 2) - 1)
    B = args.batch or (192 if gpu else 32)
    device = torch.device(args.device)
    if not gpu:
        torch.set_num_threads(1)  # one thread was 4–7× faster than two on the 2-core machine
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    _LOG = open(os.path.join(args.out, "train.log"), "a")
    return procs, B, device, time.time()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--budget-seconds", type=float, default=None,
                    help="training time for the four stages (default: 480 on a GPU, 4800 on a CPU)")
    ap.add_argument("--pool", type=int, default=None, help="training images rendered up front (default 160000 GPU, 16000 CPU)")
    ap.add_argument("--procs", type=int, default=None, help="worker processes for images and batches")
    ap.add_argument("--batch", type=int, default=None, help="conversations per step (default 192 GPU, 32 CPU)")
    ap.add_argument("--first-fraction", type=float, default=None,
                    help="share of the images rendered before stage 1 starts (default 0.3 GPU, 1 CPU)")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--quick-eval", type=int, default=90, help="held-out scenes for the PyTorch check at the end")
    ap.add_argument("--finetune", action="store_true",
                    help="continue from the shipped pair (models/tiny) with one more stage weighted to several images "
                         "per message, instead of training from scratch; --budget-seconds is that stage's time")
    ap.add_argument("--lr", type=float, default=None, help="peak learning rate of the --finetune stage (default 3.5e-4)")
    ap.add_argument("--background", choices=["light", "any"], default="light",
                    help="the training images: light backgrounds only (as the shipped pair), or any (half light, half dark, coloured or textured)")
    args = ap.parse_args()
    gpu = args.device.startswith("cuda")
    budget = args.budget_seconds or (480 if gpu else 4800)
    procs, B, device, t0 = setup(args, gpu)
    if args.finetune:
        return finetune(args, gpu, budget, procs, B, device, t0)
    n_pool = args.pool or (160_000 if gpu else 16_000)
    rng = random.Random(args.seed)
    log(f"device {device}{f' ({torch.cuda.get_device_name(0)})' if gpu else ''}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
        f"budget {budget:.0f}s, batch {B}, {procs} worker processes")

    log(f"rendering {n_pool} training images…")
    pool = ImagePool(n_pool, args.seed * 1_000_000, procs, args.first_fraction or (0.3 if gpu else 1.0), device, background=args.background)
    log(f"{len(pool.scenes)} images ready in {time.time() - t0:.0f}s; the rest render during stage 1")
    t_stages = time.time()

    model = MiniLlava().to(device)
    log(f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters")
    sec = {k: f * budget for k, f in STAGE_FRACTIONS.items()}

    heads, text = stage1(model, pool, sec["stage1"], rng, device, B=2 * B if gpu else 64)
    log(f"stage 1 done at {time.time() - t0:.0f}s")
    pool.complete()
    log(f"all {len(pool.scenes)} images ready at {time.time() - t0:.0f}s")
    pixels = pool.pixels
    batches = Batches(pool.scenes, procs, random.Random(args.seed + 1))
    # The stages after the first share what is left of the budget.
    left = max(budget - (time.time() - t_stages), 0.5 * (budget - sec["stage1"]))
    sec.update({k: sec[k] * left / (budget - sec["stage1"]) for k in ("stage2", "stage3", "stage4")})

    for p in model.vision.parameters():
        p.requires_grad_(False)
    proj_lm = list(model.vision.mm0.parameters()) + list(model.vision.mm2.parameters()) + list(model.llm.parameters())
    for p in proj_lm:
        p.requires_grad_(True)
    train_lm(model, pixels, batches, sec["stage2"], 3e-3, proj_lm, "stage2", device, B=B, mode="describe")
    log(f"stage 2 done at {time.time() - t0:.0f}s")

    for p in model.parameters():
        p.requires_grad_(True)
    train_lm(model, pixels, batches, sec["stage3"], 2e-3, list(model.parameters()), "stage3", device, B=B)
    log(f"stage 3 done at {time.time() - t0:.0f}s")

    focus = ["position", "position", "describe", "describe", "describe", "count", "colour", "colour", "shape", "presence"]
    train_lm(model, pixels, batches, sec["stage4"], 7e-4, list(model.parameters()), "stage4", device, B=B, kinds=focus,
             focus_multi=True)
    log(f"stage 4 done at {time.time() - t0:.0f}s")
    batches.close()

    save(model, args, device, t0)


def finetune(args, gpu, budget, procs, B, device, t0):
    """One more stage on top of the pair in models/tiny (it replaces that
    pair once export.ts runs): several images per message get 60 % of the
    batches, weighted to the weak cells of the evaluation (the colour of a
    shape in the n-th image, descriptions of each image); the rest replays
    one-image, later-image and refusal conversations. The vision tower and
    projector stay as they are (their output for each pool image is computed
    once); only the language model trains, since finding the n-th image is
    its job. Peak learning rate: half of stage 4's.

    The shipped pair had 50 minutes of this on the 2-core CPU after its H200
    run: several images 0.880 → 0.900 in `npm run models:eval`, within the
    noise of one run (models/README.md)."""
    n_pool = args.pool or (60_000 if gpu else 8_000)
    tiny = os.path.join(os.path.dirname(__file__), "..", "tiny")
    model = load_gguf_pair(os.path.join(tiny, "mini-llava-shapes.gguf"), os.path.join(tiny, "mmproj-mini-llava-shapes.gguf"))
    model = model.to(device)
    log(f"fine-tune of the shipped pair on {device}, budget {budget:.0f}s, batch {B}, seed {args.seed}")
    pool = ImagePool(n_pool, args.seed * 1_000_000 + 500_000, procs, 1.0, device, background=args.background)
    pool.complete()
    log(f"{len(pool.scenes)} images ready in {time.time() - t0:.0f}s")
    for p in model.vision.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        feats = torch.cat([model.vision(normalise(pool.pixels[i : i + 256])) for i in range(0, len(pool.scenes), 256)])
    log(f"vision features of the pool ready at {time.time() - t0:.0f}s")
    batches = Batches(pool.scenes, procs, random.Random(args.seed + 2))
    focus = ["position", "describe", "describe", "count", "colour", "colour", "shape", "presence"]
    multi_kinds = ["colour_in"] * 4 + ["describe_all"] * 2 + ["count_in", "presence_in", "count_all", "n_images"]
    mix = {"several": 0.6, "single": 0.2, "later": 0.1, "other": 0.1}
    if args.background != "light":
        # New backgrounds: every kind of question about one image first, several images still often.
        focus = ["colour", "shape", "presence", "presence", "count", "position", "describe"]
        mix = {"several": 0.3, "single": 0.5, "later": 0.1, "other": 0.1}

    def with_features(ids, f, slots):
        return model.llm(model.place(ids, f, slots))

    train_lm(with_features, feats, batches, budget, args.lr or 3.5e-4, list(model.llm.parameters()), "finetune", device,
             prep=lambda f: f, B=B, kinds=focus, focus_multi=True, mix=mix, multi_kinds=multi_kinds)
    batches.close()
    save(model, args, device, t0)


if __name__ == "__main__":
    main()
