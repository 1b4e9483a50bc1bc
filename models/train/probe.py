"""A quick look, in PyTorch only, at where answers about several images in
one message go wrong (the weakest cell of `npm run models:eval`). A minute or
two on a CPU, no llama.cpp: the weights are read back from the GGUF pair, and
each answer is checked by one teacher-forced pass (heldout.greedy_agrees).

For "what colour is the <shape> in the second image?" it also says, for each
miss, whether the model named the colour that shape has in ANOTHER image of
the same message (it picked the wrong image) or a colour no such shape has.

    python3 models/train/probe.py [--models models/tiny] [--n 96] [--seed 99]
"""
import argparse
import collections
import os
import random
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402
from heldout import greedy_agrees  # noqa: E402
from model import load_gguf_pair  # noqa: E402
from train import prompt_ids  # noqa: E402

SINGLE = ["shape", "colour", "count"]
MULTI = ["colour_in", "describe_all", "count_in"]


def image(rng):
    scene = world.random_scene(rng)
    return scene, world.preprocess(world.render(rng, scene), method="old")


def asks(items, answers):
    """items: [(pixels, question)]; True where the model answers exactly answers[i]."""
    prompts = [(*prompt_ids([(len(pix), q, "")]), pix, a, True) for (pix, q), a in zip(items, answers)]
    return greedy_agrees(MODEL, prompts)


def single(kind, n, rng):
    right = 0
    for start in range(0, n, 32):
        items, answers = [], []
        while len(items) < min(32, n - start):
            scene, pix = image(rng)
            k, q, a = world.questions(rng, scene, kind=kind, style=rng.choice(["canonical", "paraphrase"]))
            if k == kind:
                items.append(([pix], q)); answers.append(a)
        right += sum(asks(items, answers))
    print(f"one image   {kind:<12} {right}/{n} = {right / n:.3f}", flush=True)


def several(kind, n, rng):
    right, by_n, total_n, misses = 0, collections.Counter(), collections.Counter(), collections.Counter()
    for start in range(0, n, 16):
        cases = []
        while len(cases) < min(16, n - start):
            shots = [image(rng) for _ in range(rng.choice([2, 2, 3]))]
            k, q, a = world.multi_image_question(rng, [s for s, _ in shots], kind=kind, surface=False)
            if k == kind:
                cases.append((shots, q, a))
        ok = asks([([p for _, p in shots], q) for shots, q, _ in cases], [a for _, _, a in cases])
        for (shots, q, a), good in zip(cases, ok):
            right += good
            total_n[len(shots)] += 1
            by_n[len(shots)] += good
            if not good and kind == "colour_in":
                shape = a.split()[1]
                said = [c for c, yes in zip(world.COLOUR_NAMES, asks(
                    [([p for _, p in shots], q)] * len(world.COLOUR_NAMES),
                    [f"The {shape} is {c}." for c in world.COLOUR_NAMES])) if yes]
                elsewhere = {o["colour"] for s, _ in shots for o in s["objects"] if o["shape"] == shape}
                misses["that shape's colour in another image" if said and said[0] in elsewhere else "other"] += 1
    cells = ", ".join(f"{m} images {by_n[m]}/{total_n[m]}" for m in sorted(total_n))
    print(f"several     {kind:<12} {right}/{n} = {right / n:.3f} ({cells})"
          + (f"; misses: {dict(misses)}" if misses else ""), flush=True)


def main():
    global MODEL
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(os.path.dirname(__file__), "..", "tiny"))
    ap.add_argument("--n", type=int, default=96)
    ap.add_argument("--seed", type=int, default=99)
    args = ap.parse_args()
    torch.set_num_threads(1)
    MODEL = load_gguf_pair(os.path.join(args.models, "mini-llava-shapes.gguf"),
                           os.path.join(args.models, "mmproj-mini-llava-shapes.gguf")).eval()
    for kind in SINGLE:
        single(kind, args.n, random.Random(args.seed))
    for kind in MULTI:
        several(kind, args.n, random.Random(args.seed + 1))


if __name__ == "__main__":
    main()
