"""The synthetic world the demo model learns: one to three simple shapes in a
handful of colours on varied backgrounds, drawn the way ordinary programs and
screenshots draw them (aliased or anti-aliased edges, JPEG artefacts, noise,
odd aspect ratios, large canvases), plus the questions and answers about it.

Everything is driven by a `random.Random`, so a seed reproduces a data set.
"""
import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ["circle", "square", "triangle"]
COLOURS = {
    "red": (220, 30, 30),
    "green": (30, 160, 50),
    "blue": (30, 60, 220),
    "yellow": (240, 205, 20),
    "purple": (140, 40, 170),
    "orange": (250, 130, 20),
}
COLOUR_NAMES = list(COLOURS)
NUMBER_WORDS = {1: "1", 2: "2", 3: "3"}

IMAGE_SIZE = 48
PAD_COLOUR = (122, 116, 104)  # what llama.cpp pads LLaVA-1.5 images with


# ----------------------------------------------------------------------------
# Scenes


def _background(rng, w, h):
    kind = rng.random()
    if kind < 0.45:
        return Image.new("RGB", (w, h), (255, 255, 255))
    if kind < 0.75:
        base = tuple(rng.randint(200, 255) for _ in range(3))
        return Image.new("RGB", (w, h), base)
    if kind < 0.88:
        g = rng.randint(150, 235)
        return Image.new("RGB", (w, h), (g, g, g))
    # a soft two-colour gradient
    a = np.array([rng.randint(190, 255) for _ in range(3)], dtype=np.float32)
    b = np.array([rng.randint(190, 255) for _ in range(3)], dtype=np.float32)
    t = np.linspace(0, 1, w if rng.random() < 0.5 else h, dtype=np.float32)
    row = a[None, :] * (1 - t[:, None]) + b[None, :] * t[:, None]
    if len(t) == w:
        arr = np.broadcast_to(row[None, :, :], (h, w, 3))
    else:
        arr = np.broadcast_to(row[:, None, :], (h, w, 3))
    return Image.fromarray(arr.astype(np.uint8))


def _jitter(rng, rgb, amount=18):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)


def random_scene(rng, n_objects=None, canvas=None):
    """A scene description: canvas size and objects with shape, colour, centre
    and radius in pixels. Objects never overlap."""
    if canvas is None:
        r = rng.random()
        if r < 0.35:
            side = rng.choice([48, 64, 96, 128, 256, 512])
            w = h = side
        elif r < 0.6:
            side = rng.randint(300, 1400)
            w = h = side
        else:
            long_side = rng.randint(64, 1400)
            aspect = rng.uniform(1.2, 2.2)
            short = max(32, int(long_side / aspect))
            w, h = (long_side, short) if rng.random() < 0.5 else (short, long_side)
    else:
        w, h = canvas
    n = n_objects or rng.choice([1, 1, 2, 2, 3])
    objects = []
    m = min(w, h)
    # In a padded square the shapes of a very wide image shrink; keep them
    # readable by sizing against the longer side too.
    for _ in range(200):
        if len(objects) == n:
            break
        rad = rng.uniform(0.11, 0.22 if n > 1 else 0.34) * max(m, 0.55 * max(w, h))
        rad = min(rad, 0.45 * m)
        cx = rng.uniform(rad, w - rad)
        cy = rng.uniform(rad, h - rad)
        if any(math.hypot(cx - o["cx"], cy - o["cy"]) < (rad + o["r"]) * 1.08 for o in objects):
            continue
        objects.append(
            {"shape": rng.choice(SHAPES), "colour": rng.choice(COLOUR_NAMES), "cx": cx, "cy": cy, "r": rad}
        )
    return {"w": w, "h": h, "objects": objects}


def _draw_object(draw, o, scale, fill):
    cx, cy, r = o["cx"] * scale, o["cy"] * scale, o["r"] * scale
    if o["shape"] == "circle":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif o["shape"] == "square":
        s = r * 0.9
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=fill)
    else:
        top = (cx, cy - r)
        left = (cx - r * 0.95, cy + r * 0.75)
        right = (cx + r * 0.95, cy + r * 0.75)
        draw.polygon([top, left, right], fill=fill)


def render(rng, scene):
    """Draws a scene as an ordinary program or a screenshot would."""
    w, h = scene["w"], scene["h"]
    antialias = rng.random() < 0.5 and w * h <= 700 * 700
    scale = 3 if antialias else 1
    img = _background(rng, w * scale, h * scale)
    draw = ImageDraw.Draw(img)
    for o in scene["objects"]:
        _draw_object(draw, o, scale, _jitter(rng, COLOURS[o["colour"]]))
    if antialias:
        img = img.resize((w, h), Image.LANCZOS)
    if rng.random() < 0.25:
        arr = np.asarray(img).astype(np.int16)
        arr = arr + np.array([rng.gauss(0, 6) for _ in range(1)], dtype=np.int16)
        noise = np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(2, 9), arr.shape)
        img = Image.fromarray(np.clip(arr + noise, 0, 255).astype(np.uint8))
    if rng.random() < 0.4:
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=rng.randint(35, 92))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    return img


# ----------------------------------------------------------------------------
# The preprocessing llama.cpp applies to LLaVA-1.5 images: resize keeping the
# aspect ratio into IMAGE_SIZE² (bicubic), then pad with PAD_COLOUR.


def _old_bicubic(arr, tw, th):
    """llama.cpp's original clip.cpp bicubic: no antialiasing, samples at
    x = j * (w / tw) with a cubic through four neighbours. This is what the
    @fugood/llama.node build used by the app runs."""
    src = arr.astype(np.float32)
    ny, nx = src.shape[:2]
    tx, ty = np.float32(nx) / np.float32(tw), np.float32(ny) / np.float32(th)
    jx = np.arange(tw, dtype=np.float32) * tx
    iy = np.arange(th, dtype=np.float32) * ty
    x = jx.astype(np.int64)
    y = iy.astype(np.int64)
    dx = (jx - x)[None, :, None]
    dy = (iy - y)[:, None, None]

    def cubic(p_1, p0, p1, p2, t):
        d0, d2, d3 = p_1 - p0, p1 - p0, p2 - p0
        a1 = -1.0 / 3 * d0 + d2 - 1.0 / 6 * d3
        a2 = 0.5 * d0 + 0.5 * d2
        a3 = -1.0 / 6 * d0 - 0.5 * d2 + 1.0 / 6 * d3
        return p0 + a1 * t + a2 * t * t + a3 * t * t * t

    xs = [np.clip(x + k, 0, nx - 1) for k in (-1, 0, 1, 2)]
    rows = []
    for k in (-1, 0, 1, 2):
        yy = np.clip(y + k, 0, ny - 1)
        r = src[yy]  # th, nx, 3
        rows.append(cubic(r[:, xs[0]], r[:, xs[1]], r[:, xs[2]], r[:, xs[3]], dx))
    out = cubic(rows[0], rows[1], rows[2], rows[3], dy)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def preprocess(img, method="old", size=IMAGE_SIZE, jitter_rng=None):
    """uint8 array [size, size, 3] as llama.cpp would feed the encoder."""
    w, h = img.size
    scale = min(size / w, size / h)
    nw = min(math.ceil(w * scale), size)
    nh = min(math.ceil(h * scale), size)
    if (nw, nh) == (w, h):
        resized = np.asarray(img)
    elif method == "old":
        resized = _old_bicubic(np.asarray(img), nw, nh)
    else:
        resized = np.asarray(img.resize((nw, nh), Image.BICUBIC))
    canvas = np.empty((size, size, 3), dtype=np.uint8)
    canvas[:] = PAD_COLOUR
    ox, oy = (size - nw) // 2, (size - nh) // 2
    if jitter_rng is not None and (size - nw > 1 or size - nh > 1):
        ox = max(0, min(size - nw, ox + jitter_rng.randint(-1, 1)))
        oy = max(0, min(size - nh, oy + jitter_rng.randint(-1, 1)))
    canvas[oy : oy + nh, ox : ox + nw] = resized
    return canvas


def patch_labels(scene, size=IMAGE_SIZE, patch=8):
    """For the dense auxiliary loss: per patch, the (shape, colour) of the
    object covering its centre, or -1 for background; in preprocessed
    coordinates."""
    w, h = scene["w"], scene["h"]
    scale = min(size / w, size / h)
    nw, nh = min(math.ceil(w * scale), size), min(math.ceil(h * scale), size)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    g = size // patch
    shape_lbl = np.full(g * g, -1, dtype=np.int64)
    colour_lbl = np.full(g * g, -1, dtype=np.int64)
    for py in range(g):
        for px in range(g):
            X = ((px + 0.5) * patch - ox) / scale
            Y = ((py + 0.5) * patch - oy) / scale
            for o in scene["objects"]:
                if math.hypot(X - o["cx"], Y - o["cy"]) < o["r"] * 0.8:
                    shape_lbl[py * g + px] = SHAPES.index(o["shape"])
                    colour_lbl[py * g + px] = COLOUR_NAMES.index(o["colour"])
    return shape_lbl, colour_lbl


# ----------------------------------------------------------------------------
# Language


def describe(scene):
    objs = sorted(scene["objects"], key=lambda o: o["cx"])
    parts = [f"a {o['colour']} {o['shape']}" for o in objs]
    if len(parts) == 1:
        text = parts[0]
    elif len(parts) == 2:
        text = f"{parts[0]} and {parts[1]}"
    else:
        text = f"{parts[0]}, {parts[1]} and {parts[2]}"
    return text[0].upper() + text[1:] + "."


GREETING = (
    "Hello! I can answer questions about the shapes in an image: "
    "their colors, kinds, count and positions."
)
SMALL_TALK = [
    ("Hello", GREETING),
    ("Hi", GREETING),
    ("Hello!", GREETING),
    ("What can you do?", GREETING),
    ("Thank you!", "You are welcome."),
    ("Thanks", "You are welcome."),
    ("OK", "OK."),
]


def questions(rng, scene, kind=None):
    """One (kind, question, answer) about the scene; kind None picks one."""
    objs = scene["objects"]
    by_shape = {s: [o for o in objs if o["shape"] == s] for s in SHAPES}
    by_colour = {c: [o for o in objs if o["colour"] == c] for c in COLOUR_NAMES}
    kinds = ["colour", "shape", "presence", "count", "position", "describe"]
    for _ in range(20):
        k = kind or rng.choice(kinds)
        if k == "colour":
            unique = [s for s in SHAPES if len(by_shape[s]) == 1]
            if not unique:
                continue
            s = rng.choice(unique)
            c = by_shape[s][0]["colour"]
            q = rng.choice([f"What color is the {s}?", f"What colour is the {s}?", f"Which color is the {s}?"])
            return k, q, f"The {s} is {c}."
        if k == "shape":
            unique = [c for c in COLOUR_NAMES if len(by_colour[c]) == 1]
            if not unique:
                continue
            c = rng.choice(unique)
            s = by_colour[c][0]["shape"]
            q = rng.choice([f"What shape is {c}?", f"Which shape is {c}?", f"What is the {c} shape?"])
            return k, q, f"The {c} shape is a {s}."
        if k == "presence":
            if rng.random() < 0.5:
                o = rng.choice(objs)
                c, s, yes = o["colour"], o["shape"], True
            else:
                c, s = rng.choice(COLOUR_NAMES), rng.choice(SHAPES)
                yes = any(o["colour"] == c and o["shape"] == s for o in objs)
            return k, f"Is there a {c} {s}?", "Yes." if yes else "No."
        if k == "count":
            n = len(objs)
            q = rng.choice(["How many shapes are there?", "How many shapes are in the image?", "Count the shapes."])
            return k, q, "There is 1 shape." if n == 1 else f"There are {NUMBER_WORDS[n]} shapes."
        if k == "position":
            unique = [s for s in SHAPES if len(by_shape[s]) == 1 and abs(by_shape[s][0]["cx"] / scene["w"] - 0.5) > 0.12]
            if not unique:
                continue
            s = rng.choice(unique)
            side = "left" if by_shape[s][0]["cx"] < scene["w"] / 2 else "right"
            q = rng.choice([f"Is the {s} on the left or the right?", f"Where is the {s}?", f"Which side is the {s} on?"])
            return k, q, f"The {s} is on the {side}."
        if k == "describe":
            q = rng.choice(["Describe the image.", "What is in the image?", "Describe this picture."])
            return k, q, describe(scene)
    return "count", "How many shapes are there?", (
        "There is 1 shape." if len(objs) == 1 else f"There are {len(objs)} shapes."
    )
