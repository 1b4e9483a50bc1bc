"""The held-out evaluation set for `npm run models:eval`, in two steps.

    python3 models/train/heldout.py make OUT_DIR [--per-kind 150] [--seed 12345]
        writes fresh scenes as users would upload them: PNG or JPEG, square
        or not, up to 1920 px, drawn by the training renderer; the same kind
        of scenes as SVG for the second renderer (rasterised by eval.ts with
        librsvg through sharp); the same questions on dark, coloured and
        textured backgrounds; several images per message; questions in
        canonical, paraphrased and never-trained wordings; things the model
        cannot know. OUT_DIR/manifest.json lists every item.

    python3 models/train/heldout.py check OUT_DIR --llm L.gguf --mmproj M.gguf
        after eval.ts has added llama.cpp's answers: whether PyTorch, running
        the weights read back from the shipped GGUF files (no checkpoint
        needed), gives exactly the same greedy answer, for the
        PyTorch ↔ llama.cpp agreement figure.
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
from model import EOS, encode_text, load_gguf_pair, normalise  # noqa: E402
from train import prompt_ids  # noqa: E402

KINDS = ["colour", "shape", "presence", "count", "position", "describe"]
MULTI_KIND = {"n_images": "count", "count_in": "count", "count_all": "count", "colour_in": "colour",
              "presence_in": "presence", "describe_all": "describe"}


def make(out, per_kind, seed):
    rng = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    items = []

    def save_png_or_jpeg(img, stem):
        jpeg = rng.random() < 0.35
        name = f"{stem}.{'jpg' if jpeg else 'png'}"
        if jpeg:
            img.save(os.path.join(out, name), format="JPEG", quality=rng.randint(60, 92))
        else:
            img.save(os.path.join(out, name), format="PNG")
        return name, jpeg

    def add_single(group, kind, style, n, svg=False, background="light"):
        made = 0
        while made < n:
            scene = world.random_scene(rng)
            k, q, a = world.questions(rng, scene, kind=kind, style=style)
            if k != kind:
                continue  # this scene cannot be asked this kind of question
            stem = f"{group}-{kind}-{made:04d}"
            if svg:
                with open(os.path.join(out, stem + ".svg"), "w") as f:
                    f.write(world.to_svg(rng, scene))
                name, jpeg = stem + ".svg", rng.random() < 0.35  # eval.ts rasterises it (JPEG or PNG)
            else:
                name, jpeg = save_png_or_jpeg(world.render(rng, scene, background), stem)
            items.append({"group": group, "kind": kind, "files": [name], "question": q, "answer": a,
                          "objects": len(scene["objects"]), "width": scene["w"], "height": scene["h"], "jpeg": jpeg})
            made += 1

    for kind in KINDS:
        add_single("base", kind, "canonical", per_kind)
        add_single("paraphrase", kind, "paraphrase", per_kind // 2)
        add_single("unseen", kind, "heldout", max(10, per_kind // 6))
        add_single("renderer2", kind, "canonical", per_kind // 2, svg=True)

    for m in range(per_kind):  # several images in one message
        n = rng.choice([2, 2, 3])
        scenes = [world.random_scene(rng) for _ in range(n)]
        k, q, a = world.multi_image_question(rng, scenes, surface=False)
        files = []
        for j, sc in enumerate(scenes):
            files.append(save_png_or_jpeg(world.render(rng, sc), f"multi-{m:04d}-{j}")[0])
        items.append({"group": "multi", "kind": MULTI_KIND[k], "multi_kind": k, "files": files, "question": q, "answer": a,
                      "objects": max(len(s["objects"]) for s in scenes), "width": scenes[0]["w"],
                      "height": scenes[0]["h"], "jpeg": False})

    for m in range(max(20, per_kind // 3)):  # what it cannot know, and long pasted text
        scene = world.random_scene(rng)
        r = m % 3
        q = world.rambling(rng) if r == 2 else rng.choice(world.HELDOUT_OFF_WORLD)
        files = [] if r == 1 else [save_png_or_jpeg(world.render(rng, scene), f"refusal-{m:04d}")[0]]
        items.append({"group": "refusal", "kind": "refusal", "files": files, "question": q, "answer": world.REFUSAL,
                      "objects": len(scene["objects"]), "width": scene["w"], "height": scene["h"], "jpeg": False})

    # Dark, coloured and textured backgrounds (drawn last, so the items
    # above are the same as before this group existed).
    for kind in KINDS:
        add_single("background", kind, "canonical", max(10, per_kind // 3), background="other")

    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(items, f, indent=1)
    print(f"{len(items)} held-out items in {out}", file=sys.stderr)


@torch.no_grad()
def greedy_agrees(model, prompts):
    """prompts: (ids, slots, [pixels_u8, …], answer_text, ended). True where
    PyTorch's greedy decoding would produce exactly `answer_text` (then stop,
    when `ended`): one teacher-forced pass checks that every next token is the
    argmax, which is the same as decoding greedily and comparing."""
    B = len(prompts)
    seqs = []
    for ids, slots, _, text, ended in prompts:
        ans = encode_text(text) + ([EOS] if ended else [])
        seqs.append((ids + ans, slots + [False] * len(ans), len(ids), len(ans)))
    T = max(len(s[0]) for s in seqs)
    ids = torch.zeros(B, T, dtype=torch.long)
    slots = torch.zeros(B, T, dtype=torch.bool)
    for b, (i, s, _, _) in enumerate(seqs):
        ids[b, : len(i)] = torch.tensor(i)
        slots[b, : len(s)] = torch.tensor(s)
    pix = [p for pr in prompts for p in pr[2]]
    images = normalise(torch.from_numpy(np.stack(pix)).permute(0, 3, 1, 2)) if pix else None
    pred = model(ids, images, slots).argmax(-1)
    out = []
    for b, (i, _, n_prompt, n_ans) in enumerate(seqs):
        if n_ans == 0:
            out.append(False)
            continue
        want = torch.tensor(i[n_prompt : n_prompt + n_ans])
        out.append(bool((pred[b, n_prompt - 1 : n_prompt - 1 + n_ans] == want).all()))
    return out


def check(out, llm, mmproj):
    """Adds to each item whether PyTorch, running the weights read back from
    the GGUF files, answers exactly as llama.cpp did ('agrees'), and whether
    PyTorch would give the expected answer ('pytorch_right')."""
    from PIL import Image

    with open(os.path.join(out, "manifest.json")) as f:
        items = json.load(f)
    model = load_gguf_pair(llm, mmproj)
    model.eval()
    size = model.vision.cfg["image_size"]
    # Similar prompt lengths together, so padding stays small.
    order = sorted(range(len(items)), key=lambda i: (len(items[i]["raster"]), len(items[i]["question"])))
    batch = 32
    for start in range(0, len(order), batch):
        chunk = [items[i] for i in order[start : start + batch]]
        base = []
        for it in chunk:
            pix = [world.preprocess(Image.open(os.path.join(out, f)).convert("RGB"), method="old", size=size)
                   for f in it["raster"]]
            ids, slots = prompt_ids([(len(pix), it["question"], "")])
            base.append((ids, slots, pix))
        agrees = greedy_agrees(model, [(*p, it["engineRaw"], it["engineEnded"]) for p, it in zip(base, chunk)])
        right = greedy_agrees(model, [(*p, it["answer"], True) for p, it in zip(base, chunk)])
        for it, a, r in zip(chunk, agrees, right):
            it["agrees"], it["pytorch_right"] = a, r
        print(f"PyTorch checked {min(start + batch, len(items))}/{len(items)}", file=sys.stderr, flush=True)
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(items, f, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("step", choices=["make", "check"])
    ap.add_argument("out")
    ap.add_argument("--per-kind", type=int, default=150)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--llm")
    ap.add_argument("--mmproj")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.step == "make":
        make(args.out, args.per_kind, args.seed)
    else:
        check(args.out, args.llm, args.mmproj)


if __name__ == "__main__":
    main()
