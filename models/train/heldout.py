"""Writes a fresh held-out evaluation set for `npm run models:eval`: image
files as a user would upload them (PNG or JPEG, square or not, up to 1400 px),
the question, the expected answer, and the PyTorch model's own greedy answer
on the same image (for the PyTorch ↔ llama.cpp agreement figure).

    python3 models/train/heldout.py OUT_DIR [--per-kind 500] [--seed 12345]
"""
import argparse
import json
import os
import random
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402
from model import EOS, MiniLlava, decode_ids  # noqa: E402
from train import conversation_ids, normalise  # noqa: E402

KINDS = ["colour", "shape", "presence", "count", "position", "describe"]


@torch.no_grad()
def batched_greedy(model, prompts, max_new=60):
    """prompts: list of (ids, slots, pixels_u8). Causal attention means padding
    after a sequence's end never changes its logits, so all sequences grow in
    one right-padded batch."""
    B = len(prompts)
    lens = [len(p[0]) for p in prompts]
    T = max(lens) + max_new
    ids = torch.zeros(B, T, dtype=torch.long)
    slots = torch.zeros(B, T, dtype=torch.bool)
    for b, (i, s, _) in enumerate(prompts):
        ids[b, : len(i)] = torch.tensor(i)
        slots[b, : len(s)] = torch.tensor(s)
    images = normalise(torch.from_numpy(np.stack([p[2] for p in prompts])).permute(0, 3, 1, 2))
    img_emb = model.vision(images)
    done = [False] * B
    out = [[] for _ in range(B)]
    for _ in range(max_new):
        upto = max(lens)
        emb = model.llm.embed(ids[:, :upto]).clone()
        for b in range(B):
            idx = slots[b, :upto].nonzero().flatten()
            emb[b, idx] = img_emb[b, : len(idx)]
        logits = model.llm(emb)
        for b in range(B):
            if done[b]:
                continue
            nxt = int(logits[b, lens[b] - 1].argmax())
            if nxt == EOS:
                done[b] = True
                continue
            out[b].append(nxt)
            ids[b, lens[b]] = nxt
            lens[b] += 1
        if all(done):
            break
    return [decode_ids(o) for o in out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--per-kind", type=int, default=500)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--checkpoint", default=os.path.join(os.path.dirname(__file__), "out", "checkpoint.pt"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    rng = random.Random(args.seed)

    items = []
    for kind in KINDS:
        made = 0
        while made < args.per_kind:
            scene = world.random_scene(rng)
            k, q, a = world.questions(rng, scene, kind=kind)
            if k != kind:
                continue  # this scene cannot be asked this kind of question
            img = world.render(rng, scene)
            jpeg = rng.random() < 0.35
            name = f"{kind}-{made:04d}.{'jpg' if jpeg else 'png'}"
            path = os.path.join(args.out, name)
            if jpeg:
                img.save(path, format="JPEG", quality=rng.randint(60, 92))
            else:
                img.save(path, format="PNG")
            items.append({
                "file": name, "kind": kind, "question": q, "answer": a,
                "objects": len(scene["objects"]), "width": scene["w"], "height": scene["h"], "jpeg": jpeg,
            })
            made += 1

    model = MiniLlava()
    state = torch.load(args.checkpoint, map_location="cpu")
    model.load_state_dict(state["model"])
    model.eval()
    from PIL import Image
    batch = 48
    for start in range(0, len(items), batch):
        chunk = items[start : start + batch]
        prompts = []
        for it in chunk:
            img = Image.open(os.path.join(args.out, it["file"])).convert("RGB")
            pix = world.preprocess(img, method="old")
            ids, slots, _ = conversation_ids([(it["question"], "")], with_image=True)
            prompts.append((ids[:-2], slots[:-2], pix))
        for it, ans in zip(chunk, batched_greedy(model, prompts)):
            it["pytorch"] = ans
        print(f"pytorch answers {min(start + batch, len(items))}/{len(items)}", file=sys.stderr, flush=True)
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(items, f, indent=1)


if __name__ == "__main__":
    main()
