"""Prompts and pictures for the shape-world generator (gen.py).

Scenes use the project's world (world.py: shapes, palette, drawing); this file
adds what a text-to-image model needs: a small prompt grammar with
paraphrases, scenes that obey the prompt (relations, counts, sizes,
backgrounds), the word-level vocabulary, and held-out wordings for the
evaluation. Everything is driven by a `random.Random`, so a seed reproduces
a data set.
"""
import math
import random
import re
import sys

import numpy as np
from PIL import Image, ImageDraw

import world

SIZE = 64
SS = 4  # supersampling for anti-aliased edges
MAX_TOKENS = 24
SHAPES = world.SHAPES
COLOURS = world.COLOURS
COLOUR_NAMES = world.COLOUR_NAMES
PLURAL = {"circle": "circles", "square": "squares", "triangle": "triangles"}
NUMBERS = {2: ["two", "2"], 3: ["three", "3"]}
RELATIONS = ["above", "below", "left", "right"]
# Share of prompts that name their background; the others are drawn on white (the run-time
# planner, lib/imagegen/local-layout.ts, says "on a white background" for them in so many words).
BG_NAMED = 0.5

# Backgrounds a prompt can ask for, with the words that name them. Kept away
# from the shapes' saturated palette so the shapes stay readable.
BG_KINDS = ["white", "tinted", "grey", "dark", "coloured"]
BG_WORDS = {
    "white": ["white"],
    "tinted": ["light", "pale", "tinted"],
    "grey": ["grey", "gray"],
    "dark": ["dark", "black"],
}
# "coloured": a light version of a palette colour, "on a light blue background".

# ----------------------------------------------------------------------------
# Vocabulary: every word the training grammar can produce, plus PAD/UNK/BOS.

PAD, UNK, BOS = 0, 1, 2
_WORDS = sorted(set(
    "a an the one and with draw paint show me make picture image of on in to at top bottom side "
    "above below under over beneath left right small large big tiny little background shape shapes "
    "is next under it its some two three 2 3 circle circles square squares triangle triangles "
    "red green blue yellow purple orange white light pale tinted grey gray dark black "
    "place put there are".split()
))
VOCAB = ["<pad>", "<unk>", "<bos>"] + _WORDS
WORD_ID = {w: i for i, w in enumerate(VOCAB)}


def words(text):
    """The tokenizer's split: lower case, runs of [a-z0-9]; everything else separates."""
    return re.findall(r"[a-z0-9]+", text.lower())


def tokenize(text, max_tokens=MAX_TOKENS):
    ids = [BOS] + [WORD_ID.get(w, UNK) for w in words(text)]
    ids = ids[:max_tokens]
    return ids + [PAD] * (max_tokens - len(ids))


NULL_TOKENS = [BOS] + [PAD] * (MAX_TOKENS - 1)

# ----------------------------------------------------------------------------
# Scene specs: what the prompt asks for, before positions are drawn.


def _obj(rng, shape=None, colour=None, size=None):
    return {"shape": shape or rng.choice(SHAPES), "colour": colour or rng.choice(COLOUR_NAMES), "size": size}


def random_spec(rng, bg_named=BG_NAMED):
    """A prompt's content: kind, objects, relation, background."""
    r = rng.random()
    bg = rng.choice(BG_KINDS) if rng.random() < bg_named else None
    if r < 0.30:
        size = rng.choice(["small", "large"]) if rng.random() < 0.35 else None
        return {"kind": "single", "objects": [_obj(rng, size=size)], "bg": bg}
    if r < 0.62:
        a, b = _obj(rng), _obj(rng)
        while (a["shape"], a["colour"]) == (b["shape"], b["colour"]):
            b = _obj(rng)
        return {"kind": "relation", "objects": [a, b], "rel": rng.choice(RELATIONS), "bg": bg}
    if r < 0.82:
        n = rng.choice([2, 3])
        o = _obj(rng)
        return {"kind": "count", "objects": [dict(o) for _ in range(n)], "bg": bg}
    n = rng.choice([2, 3])
    objs = []
    while len(objs) < n:
        o = _obj(rng)
        if all((o["shape"], o["colour"]) != (p["shape"], p["colour"]) for p in objs):
            objs.append(o)
    return {"kind": "list", "objects": objs, "bg": bg}


# ----------------------------------------------------------------------------
# Prompts: a small grammar with paraphrases. style "train" uses the training
# wordings; "heldout" uses wordings never seen in training (some with words
# outside the vocabulary, which become <unk>).

TRAIN_LEADS = ["", "", "", "draw ", "a picture of ", "an image of ", "show me ", "paint ", "make "]
HELDOUT_LEADS = ["please draw ", "render ", "sketch ", "generate ", "i want "]


def _np(o, article=True):
    parts = []
    if o.get("size"):
        parts.append(o["size"] if o["size"] == "small" else "large")
    parts += [o["colour"], o["shape"]]
    text = " ".join(parts)
    if article:
        text = "a " + text
    return text


def _rel_phrase(rng, rel, style):
    if style == "heldout":
        return {
            "above": ["positioned above", "just above"],
            "below": ["positioned below", "just below"],
            "left": ["on the left side of", "just left of"],
            "right": ["on the right side of", "just right of"],
        }[rel]
    return {
        "above": ["above", "over", "on top of"],
        "below": ["below", "under", "beneath"],
        "left": ["left of", "to the left of", "on the left of"],
        "right": ["right of", "to the right of", "on the right of"],
    }[rel]


def _bg_phrase(rng, spec):
    kind = spec["bg"]
    if kind == "coloured":
        return f"on a light {spec['bg_colour']} background"
    word = rng.choice(BG_WORDS[kind])
    return rng.choice([f"on a {word} background", f"on {word}", f"with a {word} background"])


def prompt_for(rng, spec, style="train"):
    kind = spec["kind"]
    objs = spec["objects"]
    if kind == "single":
        body = _np(objs[0])
    elif kind == "relation":
        a, b = objs
        rel = spec["rel"]
        phr = rng.choice(_rel_phrase(rng, rel, style))
        if style == "train" and rng.random() < 0.25:
            # the same scene said the other way round
            inv = {"above": "below", "below": "above", "left": "right", "right": "left"}[rel]
            body = f"{_np(b)} {rng.choice(_rel_phrase(rng, inv, style))} {_np(a)}"
        else:
            body = f"{_np(a)} {phr} {_np(b)}"
    elif kind == "count":
        o = objs[0]
        num = rng.choice(NUMBERS[len(objs)]) if style == "train" else NUMBERS[len(objs)][0]
        body = f"{num} {o['colour']} {PLURAL[o['shape']]}"
    else:
        parts = [_np(o) for o in objs]
        body = " and ".join(parts) if len(parts) == 2 else f"{parts[0]} {parts[1]} and {parts[2]}"
        if style == "train" and rng.random() < 0.3:
            body = ", ".join(parts[:-1]) + " and " + parts[-1]
    if spec.get("bg"):
        body += " " + _bg_phrase(rng, spec)
    lead = rng.choice(TRAIN_LEADS if style == "train" else HELDOUT_LEADS)
    text = lead + body
    if style == "train":
        r = rng.random()
        if r < 0.15:
            text = text[0].upper() + text[1:] + "."
        elif r < 0.2:
            text = text.upper()
    return text


# ----------------------------------------------------------------------------
# Pictures that obey a spec.

RADIUS = {"small": (0.09, 0.13), "large": (0.28, 0.40), None: (0.14, 0.24)}
MULTI_RADIUS = {2: (0.12, 0.20), 3: (0.12, 0.16)}  # unsized objects when there are 2 or 3


def _background(rng, spec):
    kind = spec.get("bg_drawn")
    if kind == "white":
        return (255, 255, 255)
    if kind == "tinted":
        return tuple(rng.randint(225, 250) for _ in range(3))
    if kind == "grey":
        g = rng.randint(150, 200)
        return (g, g, g)
    if kind == "dark":
        g = rng.randint(15, 50)
        return (g, g + rng.randint(0, 8), g + rng.randint(0, 12))
    c = np.array(COLOURS[spec["bg_colour"]], dtype=np.float32)
    light = 0.25 * c + 0.75 * 255
    return tuple(int(v) + rng.randint(-5, 5) for v in light)


def place(rng, spec):
    """Centres and radii (in 0..1 units) that obey the spec; None if the draw failed."""
    objs = spec["objects"]
    n = len(objs)
    radii = []
    for o in objs:
        lo, hi = RADIUS[o.get("size")]
        if n > 1 and o.get("size") is None:
            lo, hi = MULTI_RADIUS[n]
        radii.append(rng.uniform(lo, hi))
    for _ in range(200):
        pts = [(rng.uniform(r + 0.03, 1 - r - 0.03), rng.uniform(r + 0.03, 1 - r - 0.03)) for r in radii]
        ok = all(
            math.hypot(pts[i][0] - pts[j][0], pts[i][1] - pts[j][1]) > (radii[i] + radii[j]) * 1.15 + 0.03
            for i in range(n) for j in range(i)
        )
        if not ok:
            continue
        if spec["kind"] == "relation":
            (ax, ay), (bx, by) = pts
            dx, dy = bx - ax, by - ay  # from a to b
            rel = spec["rel"]
            # a rel b: "a above b" means b is lower (dy > 0), and clearly so
            want = {"above": (0, 1), "below": (0, -1), "left": (1, 0), "right": (-1, 0)}[rel]
            along = dx * want[0] + dy * want[1]
            across = abs(dx * want[1]) + abs(dy * want[0])
            if along < 0.2 or across > along * 0.6:
                continue
        return [(x, y, r) for (x, y), r in zip(pts, radii)]
    return None


def render(rng, spec, size=SIZE):
    if spec.get("bg_drawn") is None:
        spec["bg_drawn"] = spec["bg"] or "white"
    if spec["bg_drawn"] == "coloured" and "bg_colour" not in spec:
        spec["bg_colour"] = rng.choice(COLOUR_NAMES)
    s = size * SS
    img = Image.new("RGB", (s, s), _background(rng, spec))
    draw = ImageDraw.Draw(img)
    for o, (x, y, r) in zip(spec["objects"], spec["pos"]):
        fill = world._jitter(rng, COLOURS[o["colour"]], 8)
        world._draw_object(draw, {"shape": o["shape"], "cx": x * s, "cy": y * s, "r": r * s}, 1, fill)
    return img.resize((size, size), Image.BOX)


def sample(rng, style="train"):
    """(prompt, spec with positions, PIL image)."""
    while True:
        spec = random_spec(rng)
        pos = place(rng, spec)
        if pos is not None:
            break
    spec["pos"] = pos
    img = render(rng, spec)
    return prompt_for(rng, spec, style), spec, img


def augment_tokens(rng, ids):
    """Robustness to words outside the grammar: sometimes a filler word becomes
    <unk> or a stray <unk> is inserted."""
    body = [t for t in ids if t != PAD]
    if rng.random() < 0.15:
        k = rng.randint(1, len(body))
        body.insert(k, UNK)
    if rng.random() < 0.1 and len(body) > 1:
        fill = {WORD_ID[w] for w in ("draw", "show", "me", "paint", "make", "picture", "image", "of", "an", "the")}
        body = [UNK if (t in fill and rng.random() < 0.5) else t for t in body]
    body = body[:MAX_TOKENS]
    return body + [PAD] * (MAX_TOKENS - len(body))


# ----------------------------------------------------------------------------
# The layout: where each object goes, as a coarse map the UNet reads beside the
# prompt (text → layout → image, as in LLM-grounded diffusion, Lian et al. 2023,
# and GLIGEN). Training paints it from the scene's true positions; at run time
# lib/imagegen/local-layout.ts parses the prompt with the same grammar and
# places the objects by the same rules as place(). Channels, at LAYOUT×LAYOUT
# cells: coverage, then the shape one-hot, then the colour one-hot, each scaled
# by how much of the cell the object's box [cx ± r, cy ± r] covers.

LAYOUT = 16
LAYOUT_CHANNELS = 1 + len(SHAPES) + len(COLOUR_NAMES)


def layout_map(objects, pos):
    out = np.zeros((LAYOUT_CHANNELS, LAYOUT, LAYOUT), dtype=np.float32)
    edges = np.arange(LAYOUT + 1, dtype=np.float32) / LAYOUT
    for o, (x, y, r) in zip(objects, pos):
        cov_x = np.clip(np.minimum(edges[1:], x + r) - np.maximum(edges[:-1], x - r), 0, None) * LAYOUT
        cov_y = np.clip(np.minimum(edges[1:], y + r) - np.maximum(edges[:-1], y - r), 0, None) * LAYOUT
        cov = np.outer(cov_y, cov_x)  # [row (y), col (x)]
        for ch in (0, 1 + SHAPES.index(o["shape"]), 1 + len(SHAPES) + COLOUR_NAMES.index(o["colour"])):
            out[ch] = np.maximum(out[ch], cov)
    return out


def batch(rng, n, p_uncond=0.1, p_text_only=0.1):
    """Images, prompt ids and layouts. p_uncond rows drop both (the CFG null row);
    p_text_only rows drop the layout only, so a prompt the run-time planner cannot
    read still draws from its words."""
    xs = np.empty((n, 3, SIZE, SIZE), dtype=np.float32)
    toks = np.empty((n, MAX_TOKENS), dtype=np.int64)
    lays = np.zeros((n, LAYOUT_CHANNELS, LAYOUT, LAYOUT), dtype=np.float32)
    for i in range(n):
        prompt, spec, img = sample(rng)
        xs[i] = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        r = rng.random()
        if r < p_uncond:
            toks[i] = NULL_TOKENS
            continue
        toks[i] = augment_tokens(rng, tokenize(prompt))
        if r >= p_uncond + p_text_only:
            lays[i] = layout_map(spec["objects"], spec["pos"])
    return xs, toks, lays




# ----------------------------------------------------------------------------
# The evaluation's held-out prompts (eval-gen.ts): a fixed seed, half in
# training wordings and half in wordings training never used.


# The held-out set was drawn when 35 % of training prompts named a background; it keeps that share
# so that it stays the same 200 prompts.
HELDOUT_BG_NAMED = 0.35


def heldout(seed=2026, n=200):
    rng = random.Random(seed)
    plan = ["single"] * 60 + ["relation"] * 60 + ["count"] * 40 + ["list"] * 40
    plan = (plan * (n // len(plan) + 1))[:n]
    out = []
    for i, kind in enumerate(plan):
        while True:
            spec = random_spec(rng, bg_named=HELDOUT_BG_NAMED)
            if spec["kind"] != kind:
                continue
            cols = [o["colour"] for o in spec["objects"]]
            if kind in ("relation", "list") and len(set(cols)) < len(cols):
                continue  # the pixel checker tells objects apart by colour
            break
        if spec["bg"] == "coloured":
            spec["bg_colour"] = rng.choice([c for c in COLOUR_NAMES if c not in cols])
        style = "heldout" if i % 2 else "train"
        out.append({
            "prompt": prompt_for(rng, spec, style), "kind": kind, "style": style,
            "objects": [{"shape": o["shape"], "colour": o["colour"], "size": o["size"]} for o in spec["objects"]],
            "rel": spec.get("rel"), "bg": spec["bg"], "bg_colour": spec.get("bg_colour"),
        })
    return out


def render_heldout(items, out_dir, seed=2026):
    """The world's own drawing of each held-out prompt (the evaluation's reference: what
    the measures give on pictures that are right by construction)."""
    import os
    for i, it in enumerate(items):
        rng = random.Random(seed * 1000 + i)
        spec = {"kind": it["kind"], "objects": [dict(o) for o in it["objects"]], "rel": it["rel"], "bg": it["bg"]}
        if it["bg"] == "coloured":
            spec["bg_colour"] = it["bg_colour"]
        while True:
            pos = place(rng, spec)
            if pos is not None:
                break
        spec["pos"] = pos
        render(rng, spec).save(os.path.join(out_dir, f"{i:03d}.png"))


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] == "--heldout":
    import json
    items = heldout()
    if len(sys.argv) > 2:
        render_heldout(items, sys.argv[2])
    json.dump(items, sys.stdout)
    sys.exit(0)


if __name__ == "__main__":
    rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    tiles = []
    for i in range(16):
        p, spec, img = sample(rng)
        unk = [w for w in words(p) if w not in WORD_ID]
        print(p, "| unk:", unk)
        tiles.append(img)
    sheet = Image.new("RGB", (64 * 8, 64 * 2))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % 8) * 64, (i // 8) * 64))
    sheet.save("/tmp/gen_data_sheet.png")
    print(len(VOCAB), "words")
