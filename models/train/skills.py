"""A new skill for the shipped demo model, charts (issue 26), taught two ways
on the same data for the same wall-clock time:

- LoRA: the shipped pair (models/tiny) frozen; rank-r adapters (A r×n_in,
  B n_out×r, B = 0 at the start, update (alpha/r)·B·A) on the language
  model's attention and MLP matrices (q, k, v, o, gate, up, down of every
  block). llama.cpp applies LoRA to the language model only, so the vision
  tower and projector stay as shipped (their output for every pool image is
  computed once). Exported by export-lora.ts with lib/gguf/lora.ts.
- full: every parameter of the pair trains (vision, projector, language model).

Data: chart images drawn by the app's own renderer (render-charts.ts calls
lib/media/data.ts) from random tables of shape counts and colours
(world.random_chart_table), with the table summary the app puts in the
prompt, questions from world.chart_question; 25 % of the batches replay the
old skills (train.make_lm_batch: one image, later images, several images,
refusals, small talk) so nothing is forgotten.

    python3 models/train/skills.py prepare [--charts 1600] [--old 2400] [--seed 26]
    python3 models/train/skills.py train --mode lora|full [--budget-seconds 1380] [--rank 8]
    python3 models/train/skills.py eval-items DIR     (used by eval-skills.ts)
    python3 models/train/skills.py check DIR ...      (PyTorch's answers for eval-skills.ts)

CPU by default (one torch thread), CUDA when PyTorch sees it.
"""
import argparse
import json
import math
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train  # noqa: E402
import world  # noqa: E402
from model import batched_greedy, encode_text, load_gguf_pair, normalise  # noqa: E402,F401

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
TINY = os.path.join(ROOT, "models", "tiny")
BASE_LLM = os.path.join(TINY, "mini-llava-shapes.gguf")
BASE_MMPROJ = os.path.join(TINY, "mmproj-mini-llava-shapes.gguf")
OUT = os.path.join(HERE, "out-skills")
DATA = os.path.join(OUT, "data")
LORA_TARGETS = ["q", "k", "v", "o", "gate", "up", "down"]
GGUF_NAMES = {"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output", "gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down"}
OLD_SHARE = 0.25
_LOG = None


def log(*a):
    line = " ".join(str(x) for x in (f"[{time.strftime('%H:%M:%S')}]",) + a)
    print(line, flush=True)
    if _LOG:
        _LOG.write(line + "\n")
        _LOG.flush()


# ---------------------------------------------------------------------------
# LoRA


class LoRALinear(nn.Module):
    """y = W x + (alpha / r) · B (A x), W frozen. A starts as peft's does
    (Kaiming-uniform), B at zero, so the adapted layer starts as the base."""

    def __init__(self, base, rank, alpha):
        super().__init__()
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.rank, self.alpha, self.scale = rank, alpha, alpha / rank
        self.a = nn.Parameter(torch.empty(rank, base.in_features, device=base.weight.device))
        nn.init.kaiming_uniform_(self.a, a=math.sqrt(5))
        self.b = nn.Parameter(torch.zeros(base.out_features, rank, device=base.weight.device))

    def forward(self, x):
        return self.base(x) + F.linear(F.linear(x, self.a), self.b) * self.scale

    def merged_weight(self):
        return self.base.weight + self.scale * (self.b @ self.a)


def add_lora(model, rank=8, alpha=16.0, targets=LORA_TARGETS):
    """Freezes the whole model and puts LoRA on the language model's matrices:
    {GGUF base tensor name: LoRALinear}."""
    for p in model.parameters():
        p.requires_grad_(False)
    adapted = {}
    for i, block in enumerate(model.llm.blocks):
        for t in targets:
            lora = LoRALinear(getattr(block, t), rank, alpha)
            setattr(block, t, lora)
            adapted[f"blk.{i}.{GGUF_NAMES[t]}.weight"] = lora
    return adapted


def merge_lora(model):
    """Replaces every LoRALinear by a plain Linear holding W + (alpha/r)·B·A (in place)."""
    for block in model.llm.blocks:
        for t in LORA_TARGETS:
            m = getattr(block, t)
            if isinstance(m, LoRALinear):
                lin = nn.Linear(m.base.in_features, m.base.out_features, bias=False).to(m.base.weight.device)
                with torch.no_grad():
                    lin.weight.copy_(m.merged_weight())
                setattr(block, t, lin)
    return model


def save_lora(adapted, path_dir, rank, alpha):
    """weights.bin + manifest.json for export-lora.ts: per base tensor, A [r, n_in] and B [n_out, r] (PyTorch order)."""
    manifest = {"rank": rank, "alpha": alpha, "tensors": {}}
    offset = 0
    with open(os.path.join(path_dir, "lora.bin"), "wb") as f:
        for name, m in adapted.items():
            entry = {}
            for part, t in (("a", m.a), ("b", m.b)):
                arr = t.detach().float().cpu().contiguous().numpy()
                f.write(arr.tobytes())
                entry[part] = {"shape": list(arr.shape), "offset": offset}
                offset += arr.nbytes
            manifest["tensors"][name] = entry
    with open(os.path.join(path_dir, "lora.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def load_lora_gguf(model, path):
    """The adapter as shipped (a llama.cpp LoRA GGUF written by lib/gguf/lora.ts), put on model:
    `<W>.lora_a` holds A [r, n_in] and `<W>.lora_b` B [n_out, r] in PyTorch order; scale alpha / r."""
    from model import read_gguf

    meta, tensors = read_gguf(path)
    if meta.get("general.type") != "adapter" or meta.get("adapter.type") != "lora":
        raise ValueError(f"{path} is not a LoRA adapter")
    targets = sorted(n[: -len(".lora_a")] for n in tensors if n.endswith(".lora_a"))
    rank = tensors[targets[0] + ".lora_a"].shape[0]
    adapted = add_lora(model, rank, float(meta["adapter.lora.alpha"]))
    if set(targets) != set(adapted):
        raise ValueError(f"{path} adapts {targets}, not every q/k/v/o/gate/up/down matrix")
    with torch.no_grad():
        for name, m in adapted.items():
            m.a.copy_(torch.from_numpy(tensors[name + ".lora_a"].copy()))
            m.b.copy_(torch.from_numpy(tensors[name + ".lora_b"].copy()))
    return adapted


def load_lora(model, path_dir):
    """The adapter written by save_lora, put on model (for the checks)."""
    with open(os.path.join(path_dir, "lora.json")) as f:
        manifest = json.load(f)
    blob = np.fromfile(os.path.join(path_dir, "lora.bin"), dtype="<f4")
    adapted = add_lora(model, manifest["rank"], manifest["alpha"])
    with torch.no_grad():
        for name, entry in manifest["tensors"].items():
            for part in ("a", "b"):
                e = entry[part]
                n = int(np.prod(e["shape"]))
                getattr(adapted[name], part).copy_(torch.from_numpy(blob[e["offset"] // 4 : e["offset"] // 4 + n].reshape(e["shape"])))
    return adapted


# ---------------------------------------------------------------------------
# Data


def chart_turn_text(chart, question):
    """What the user message carries after the chart image: the app's text for the table, then the question."""
    return world.chart_prompt_text(chart["summary"]) + "\n" + question


def preprocess_chart(path, rng):
    """The chart PNG as llama.cpp feeds it (70 % the old bicubic of the binding the app uses, 30 % Pillow's)."""
    img = Image.open(path).convert("RGB")
    method = "old" if rng.random() < 0.7 else "pillow"
    return world.preprocess(img, method=method, jitter_rng=rng if rng.random() < 0.3 else None)


def render_charts(tables, out_dir, procs=1):
    """Draws the tables with the app's renderer (render-charts.ts, `procs` processes at once);
    returns the charts with their summaries, in the tables' order."""
    os.makedirs(out_dir, exist_ok=True)
    tsx = os.path.join(ROOT, "node_modules", ".bin", "tsx")
    jobs = []
    for k in range(procs):
        part = tables[k::procs]
        if not part:
            continue
        tables_file = os.path.join(out_dir, f"tables-{k}.jsonl")
        with open(tables_file, "w") as f:
            for t in part:
                f.write(json.dumps(t) + "\n")
        jobs.append((k, subprocess.Popen([tsx, os.path.join(HERE, "render-charts.ts"), tables_file, out_dir, f"charts-{k}.jsonl"], cwd=ROOT)))
    for k, job in jobs:
        if job.wait() != 0:
            raise RuntimeError(f"render-charts.ts failed (part {k})")
    by_id = {}
    for k, _ in jobs:
        with open(os.path.join(out_dir, f"charts-{k}.jsonl")) as f:
            for line in f:
                c = json.loads(line)
                by_id[c["id"]] = c
    charts = [by_id[t["id"]] for t in tables]
    with open(os.path.join(out_dir, "charts.jsonl"), "w") as f:
        for c in charts:
            f.write(json.dumps(c) + "\n")
    return charts


def make_tables(n, seed, id0=0):
    rng = random.Random(seed)
    tables = []
    for i in range(n):
        t = world.random_chart_table(rng)
        t["id"] = id0 + i
        tables.append(t)
    return tables


def make_out(path):
    """An output folder; out-skills/ keeps itself out of git."""
    os.makedirs(path, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    if not os.path.exists(os.path.join(OUT, ".gitignore")):
        with open(os.path.join(OUT, ".gitignore"), "w") as f:
            f.write("*\n")


def cmd_prepare(args):
    """Renders the training and validation charts (app renderer) and the old-world image pool, once, for both runs."""
    t0 = time.time()
    make_out(args.data)
    charts = render_charts(make_tables(args.charts, args.seed), os.path.join(args.data, "charts"), args.procs)
    val = render_charts(make_tables(args.val, args.seed + 1000, id0=90_000), os.path.join(args.data, "val"), args.procs)
    log(f"{len(charts)} + {len(val)} charts drawn by the app's renderer in {time.time() - t0:.0f}s")
    rng = random.Random(args.seed)
    chart_pix = np.stack([preprocess_chart(os.path.join(args.data, "charts", c["file"]), rng) for c in charts])
    val_pix = np.stack([preprocess_chart(os.path.join(args.data, "val", c["file"]), rng) for c in val])
    with mp.Pool(args.procs) as pool:
        old = pool.map(train._make_example, range(args.seed * 1_000_000 + 700_000, args.seed * 1_000_000 + 700_000 + args.old), chunksize=32)
    np.savez(os.path.join(args.data, "pool.npz"), chart=chart_pix, val=val_pix, old=np.stack([o[1] for o in old]))
    with open(os.path.join(args.data, "old_scenes.json"), "w") as f:
        json.dump([o[0] for o in old], f)
    log(f"prepared in {time.time() - t0:.0f}s: {len(charts)} charts, {len(val)} validation charts, {len(old)} old-world images")


def load_data(data_dir):
    pool = np.load(os.path.join(data_dir, "pool.npz"))
    charts = [json.loads(line) for line in open(os.path.join(data_dir, "charts", "charts.jsonl"))]
    val = [json.loads(line) for line in open(os.path.join(data_dir, "val", "charts.jsonl"))]
    old_scenes = json.load(open(os.path.join(data_dir, "old_scenes.json")))
    return charts, val, old_scenes, pool


def chart_conversation(rng, chart):
    """One conversation about one chart: the chart, the app's text and a
    question, sometimes a follow-up question without the image; a system prompt on 12 %."""
    _, q, a = world.chart_question(rng, chart)
    turns = [(1, chart_turn_text(chart, q), a)]
    if rng.random() < 0.25:
        _, q2, a2 = world.chart_question(rng, chart)
        turns.append((0, q2, a2))
    system = rng.choice(world.SYSTEM_PROMPTS) if rng.random() < 0.12 else None
    return train.conversation_ids(turns, system)


def pad(convs):
    T = max(len(c[0]) for c in convs)
    ids = np.zeros((len(convs), T), dtype=np.int64)
    slots = np.zeros((len(convs), T), dtype=bool)
    loss = np.zeros((len(convs), T), dtype=bool)
    for b, (i, s, l) in enumerate(convs):
        ids[b, : len(i)] = i
        slots[b, : len(s)] = s
        loss[b, : len(l)] = l
    return ids, slots, loss


def make_batch(rng, charts, n_charts, B_chart, B_old):
    """A batch of one kind: charts (pool indices 0…n_charts−1) or, with
    probability OLD_SHARE, the old skills (indices after the charts)."""
    if rng.random() < OLD_SHARE:
        ids, slots, loss, images = train.make_lm_batch((rng.randrange(2**62), B_old, None, False, None, None, None))
        return "old", ids, slots, loss, images + n_charts
    idx = [rng.randrange(len(charts)) for _ in range(B_chart)]
    convs = [chart_conversation(rng, charts[i]) for i in idx]
    return ("chart", *pad(convs), np.array(idx, dtype=np.int64))


# ---------------------------------------------------------------------------
# Training


def cmd_train(args):
    global _LOG
    gpu = args.device.startswith("cuda")
    if not gpu:
        torch.set_num_threads(1)  # one thread was 4–7× faster than two on the 2-core machine
    torch.manual_seed(args.seed)
    out = args.out or os.path.join(OUT, args.mode)
    make_out(out)
    _LOG = open(os.path.join(out, "train.log"), "w")
    device = torch.device(args.device)
    t0 = time.time()
    charts, val, old_scenes, pool = load_data(args.data)
    train._init_worker(old_scenes)
    pixels = torch.from_numpy(np.concatenate([pool["chart"], pool["old"]])).permute(0, 3, 1, 2).contiguous().to(device)
    model = load_gguf_pair(BASE_LLM, BASE_MMPROJ).to(device)
    n_all = sum(p.numel() for p in model.parameters())
    if args.mode == "lora":
        if args.init:  # go on from an adapter (after the base changed); its rank and alpha
            adapted = load_lora_gguf(model, args.init)
            first = next(iter(adapted.values()))
            args.rank, args.alpha = first.a.shape[0], first.alpha
        else:
            adapted = add_lora(model, args.rank, args.alpha)
        params = [p for m in adapted.values() for p in (m.a, m.b)]
        with torch.no_grad():  # the vision tower and projector are frozen: their output once per image
            feats = torch.cat([model.vision(normalise(pixels[i : i + 256])) for i in range(0, len(pixels), 256)])

        def forward(ids, images, slots):
            return model.llm(model.place(ids, feats[images] if len(images) else None, slots))

        lr = args.lr or 3e-3
    else:
        for p in model.parameters():
            p.requires_grad_(True)
        params = list(model.parameters())

        def forward(ids, images, slots):
            return model(ids, normalise(pixels[images]) if len(images) else None, slots)

        lr = args.lr or 4e-4
    n_train = sum(p.numel() for p in params)
    B = args.batch or (96 if gpu else 12)
    log(f"{args.mode} on {device} ({os.cpu_count()} CPU cores, torch {torch.__version__}): {n_train} trainable of {n_all} parameters, "
        f"batch {B} charts / {2 * B} old, lr {lr}, budget {args.budget_seconds:.0f}s, {len(charts)} charts + {len(old_scenes)} old images, "
        f"ready in {time.time() - t0:.0f}s")
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    rng = random.Random(args.seed + 7)
    model.train()
    t_train, step, seen, running = time.time(), 0, {"chart": 0, "old": 0}, {"chart": [], "old": []}
    while (frac := (time.time() - t_train) / args.budget_seconds) < 1:
        train.schedule(opt, lr, frac)
        kind, ids, slots, loss_mask, images = make_batch(rng, charts, len(charts), B, 2 * B)
        ids, slots, loss_mask, images = (torch.from_numpy(x).to(device) for x in (ids, slots, loss_mask, images))
        logits = forward(ids, images, slots)
        m = loss_mask[:, 1:]
        loss = F.cross_entropy(logits[:, :-1][m], ids[:, 1:][m])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        seen[kind] += ids.shape[0]
        running[kind].append(loss.item())
        if step % args.log_every == 0:
            log(f"{args.mode} step {step} ({frac:.0%}) loss chart {np.mean(running['chart'][-25:] or [0]):.4f} "
                f"old {np.mean(running['old'][-25:] or [0]):.4f}")
        step += 1
    train_seconds = time.time() - t_train
    log(f"{args.mode}: {step} steps in {train_seconds:.0f}s, {seen['chart']} chart and {seen['old']} old-skill conversations")
    model.eval()
    if args.mode == "lora":
        save_lora(adapted, out, args.rank, args.alpha)
    else:
        train.export(model, out)
    quick = quick_eval(model, val, pool["val"], args.quick_eval, device) if args.quick_eval else {}
    log("quick held-out accuracy (PyTorch):", quick)
    result = {"mode": args.mode, "trainable_params": n_train, "train_seconds": round(train_seconds, 1), "steps": step,
              "chart_conversations": seen["chart"], "old_conversations": seen["old"], "lr": lr, "batch": B,
              "rank": args.rank if args.mode == "lora" else None, "alpha": args.alpha if args.mode == "lora" else None,
              "device": str(device), "quick_eval": quick, "total_seconds": round(time.time() - t0, 1)}
    with open(os.path.join(out, "result.json"), "w") as f:
        json.dump(result, f, indent=1)
    log(f"total {time.time() - t0:.0f}s → {out}")


@torch.no_grad()
def quick_eval(model, val, val_pix, n, device):
    """A fast look in PyTorch: held-out charts (canonical wording) and the old skills (train.quick_eval)."""
    rng = random.Random(5)
    cases = []
    for i, c in enumerate(val[:n]):
        kind, q, a = world.chart_question(rng, c, style="canonical")
        cases.append((kind, chart_turn_text(c, q), val_pix[i], a))
    right, total = {}, {}
    for s in range(0, len(cases), 32):
        chunk = cases[s : s + 32]
        prompts = [(*train.prompt_ids([(1, q, "")]), [pix]) for _, q, pix, _ in chunk]
        for (k, _, _, a), (text, _) in zip(chunk, batched_greedy(model, prompts, max_new=40, device=device)):
            total[k] = total.get(k, 0) + 1
            right[k] = right.get(k, 0) + int(text == a)
    out = {k: round(right[k] / total[k], 3) for k in total}
    out["chart"] = round(sum(right.values()) / max(1, sum(total.values())), 3)
    old = train.quick_eval(model, max(6, n // 6), seed=7, device=device)
    out["old"] = old
    return out


# ---------------------------------------------------------------------------
# The evaluation's items (eval-skills.ts renders the charts, then asks the engine)


def cmd_eval_tables(args):
    """Held-out tables (a seed never used in training) for eval-skills.ts to draw with the app's renderer."""
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "tables.jsonl"), "w") as f:
        for t in make_tables(args.n, args.seed, id0=50_000):
            f.write(json.dumps(t) + "\n")


def cmd_eval_items(args):
    """After render-charts.ts: the chart items in both renderers (the app's,
    and render_chart_pil, never used in training) with canonical,
    paraphrased and never-trained wordings. Writes DIR/chart-items.json."""
    rng = random.Random(args.seed)
    charts = [json.loads(line) for line in open(os.path.join(args.dir, "charts.jsonl"))]
    items = []
    for c in charts:
        kinds = ["trend"] if c["mark"] == "line" else ["tallest", "n_bars", "value"]
        kind = kinds[c["id"] % len(kinds)]
        r2 = f"r2-{c['id']}.png"
        render = world.render_chart_pil(rng, c)
        render.save(os.path.join(args.dir, r2))
        for group, file, style in (("chart", c["file"], "canonical"), ("chart_r2", r2, "canonical"),
                                   ("chart_para", c["file"], "paraphrase"), ("chart_unseen", c["file"], "heldout")):
            k, q, a = world.chart_question(rng, c, kind=kind, style=style)
            items.append({"group": group, "kind": k, "file": file, "question": q, "text": chart_turn_text(c, q), "answer": a,
                          "mark": c["mark"], "rows": len(c["rows"])})
    with open(os.path.join(args.dir, "chart-items.json"), "w") as f:
        json.dump(items, f, indent=1)
    print(f"{len(items)} chart items")


@torch.no_grad()
def cmd_check(args):
    """PyTorch's greedy answers on DIR/answers.json's items (for the adapter: the
    base pair with the trained LoRA, unmerged), for the engine ↔ PyTorch agreement."""
    torch.set_num_threads(1)
    items = json.load(open(os.path.join(args.dir, "answers.json")))
    model = load_gguf_pair(args.llm, args.mmproj)
    if args.lora:
        load_lora(model, args.lora)
    if args.lora_gguf:
        load_lora_gguf(model, args.lora_gguf)
    model.eval()
    todo = [it for it in items if it.get("check")]
    for s in range(0, len(todo), 32):
        chunk = todo[s : s + 32]
        prompts = []
        for it in chunk:
            pix = [world.preprocess(Image.open(p).convert("RGB"), method="old") for p in it["images"]]
            prompts.append((*train.prompt_ids([(len(pix), it["text"], "")]), pix))
        for it, (text, _) in zip(chunk, batched_greedy(model, prompts, max_new=120)):
            it["pytorch"] = text
    with open(os.path.join(args.dir, "answers.json"), "w") as f:
        json.dump(items, f)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--data", default=DATA)
    p.add_argument("--charts", type=int, default=1200)
    p.add_argument("--val", type=int, default=48)
    p.add_argument("--old", type=int, default=2400)
    p.add_argument("--seed", type=int, default=26)
    p.add_argument("--procs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    p = sub.add_parser("train")
    p.add_argument("--mode", choices=["lora", "full"], default="lora")
    p.add_argument("--data", default=DATA)
    p.add_argument("--out", default=None)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--budget-seconds", type=float, default=1380)
    p.add_argument("--batch", type=int, default=None, help="chart conversations per step (old-skill batches: twice as many, shorter)")
    p.add_argument("--lr", type=float, default=None, help="peak rate (default 3e-3 LoRA, 4e-4 full)")
    p.add_argument("--rank", type=int, default=8)
    p.add_argument("--alpha", type=float, default=16.0)
    p.add_argument("--init", default=None, help="a *.lora.gguf to start from instead of B = 0 (its rank and alpha win)")
    p.add_argument("--seed", type=int, default=26)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--quick-eval", type=int, default=32, help="validation charts for the PyTorch check at the end (0: none)")
    p = sub.add_parser("eval-tables")
    p.add_argument("dir")
    p.add_argument("--n", type=int, default=120)
    p.add_argument("--seed", type=int, default=2626)
    p = sub.add_parser("eval-items")
    p.add_argument("dir")
    p.add_argument("--seed", type=int, default=2627)
    p = sub.add_parser("check")
    p.add_argument("dir")
    p.add_argument("--llm", default=BASE_LLM)
    p.add_argument("--mmproj", default=BASE_MMPROJ)
    p.add_argument("--lora", default=None, help="a folder with lora.json + lora.bin (save_lora)")
    p.add_argument("--lora-gguf", default=None, help="a shipped adapter (*.lora.gguf)")
    args = ap.parse_args()
    {"prepare": cmd_prepare, "train": cmd_train, "eval-tables": cmd_eval_tables, "eval-items": cmd_eval_items, "check": cmd_check}[args.cmd](args)


if __name__ == "__main__":
    main()
