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

IMAGE_SIZE = 64  # 8×8 patches of 8 px → 64 image tokens
PAD_COLOUR = (122, 116, 104)  # what llama.cpp pads LLaVA-1.5 images with


# ----------------------------------------------------------------------------
# Scenes


def _background(rng, w, h, style="light", avoid=()):
    """The canvas: style "light" (what the shipped pair was first trained on:
    white, pale tints, light grey, soft gradients), "any" (half light, the
    rest dark, coloured or textured) or "other" (only dark, coloured or
    textured). `avoid` holds the scene's shape colours, which
    a coloured background keeps clear of."""
    if style in ("any", "other"):
        # "other": only the dark, coloured and textured kinds (for evaluation)
        kind = rng.random() * (1.0 if style == "any" else 0.5)
        if kind < 0.2:
            return _dark_background(rng, w, h)
        if kind < 0.38:
            return Image.new("RGB", (w, h), _clear_colour(rng, avoid))
        if kind < 0.5:
            return _textured_background(rng, w, h, avoid)
    elif style != "light":
        raise ValueError(f"unknown background style {style!r}")
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


def _dark_background(rng, w, h):
    """Near black, dark grey or a dark tint (the held-out drawings' dark grey among them)."""
    g = rng.randint(10, 95)
    if rng.random() < 0.6:
        return Image.new("RGB", (w, h), (g, g, g))
    return Image.new("RGB", (w, h), tuple(max(0, min(110, g + rng.randint(-25, 25))) for _ in range(3)))


def _clear_colour(rng, avoid, min_distance=150):
    """A random mid or strong colour at least `min_distance` (RGB, Euclidean)
    from every colour in `avoid`, so a shape never melts into its canvas."""
    for _ in range(200):
        c = tuple(rng.randint(0, 255) for _ in range(3))
        if all(math.dist(c, a) >= min_distance for a in avoid):
            return c
    return (rng.randint(10, 60),) * 3


def _textured_background(rng, w, h, avoid):
    """Low-contrast texture over a light, dark or coloured base: stripes, a
    checkerboard or blotchy noise."""
    base = np.array(_clear_colour(rng, avoid) if rng.random() < 0.5 else ((rng.randint(200, 250),) * 3 if rng.random() < 0.5 else (rng.randint(15, 80),) * 3), dtype=np.float32)
    amp = np.float32(rng.uniform(10, 30))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.random()
    if kind < 0.35:
        period = rng.uniform(0.03, 0.12) * max(w, h)
        angle = rng.uniform(0, math.pi)
        t = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * (2 * math.pi / period))
    elif kind < 0.65:
        cell = max(2, int(rng.uniform(0.04, 0.15) * max(w, h)))
        t = (((xx // cell) + (yy // cell)) % 2) * 2 - 1
    else:
        gen = np.random.default_rng(rng.randint(0, 2**31))
        small = gen.standard_normal((max(2, h // 16), max(2, w // 16), 1)).astype(np.float32)
        t = np.asarray(Image.fromarray(((small[:, :, 0] + 3) * 40).clip(0, 255).astype(np.uint8)).resize((w, h), Image.BILINEAR), dtype=np.float32) / 120 - 1
    arr = base[None, None, :] + (amp * t)[:, :, None]
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _jitter(rng, rgb, amount=18):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)


# Canvases users actually send, besides random ones.
USER_CANVASES = [(300, 700), (700, 300), (1280, 960), (960, 1280), (1024, 768), (800, 600), (1920, 1080)]


def random_scene(rng, n_objects=None, canvas=None):
    """A scene description: canvas size and objects with shape, colour, centre
    and radius in pixels. Objects never overlap. Sizes range from small to
    shapes that nearly fill the canvas (a single shape)."""
    if canvas is None:
        r = rng.random()
        if r < 0.3:
            side = rng.choice([48, 64, 96, 128, 256, 512, 768, 1024])
            w = h = side
        elif r < 0.5:
            side = rng.randint(300, 1400)
            w = h = side
        elif r < 0.65:
            w, h = rng.choice(USER_CANVASES)
        else:
            long_side = rng.randint(64, 1400)
            aspect = rng.uniform(1.2, 2.6)
            short = max(32, int(long_side / aspect))
            w, h = (long_side, short) if rng.random() < 0.5 else (short, long_side)
    else:
        w, h = canvas
    n = n_objects or rng.choice([1, 1, 2, 2, 3, 3])
    objects = []
    m = min(w, h)
    # In a padded square the shapes of a very wide image shrink; keep them
    # readable by sizing against the longer side too.
    big = n == 1 and rng.random() < 0.25
    for _ in range(200):
        if len(objects) == n:
            break
        if big:
            rad = rng.uniform(0.36, 0.49) * m
        else:
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


def render(rng, scene, background="light"):
    """Draws a scene as an ordinary program or a screenshot would, on a
    background of the given style (see _background)."""
    w, h = scene["w"], scene["h"]
    antialias = rng.random() < 0.5 and w * h <= 700 * 700
    scale = 3 if antialias else 1
    img = _background(rng, w * scale, h * scale, background, [COLOURS[o["colour"]] for o in scene["objects"]])
    draw = ImageDraw.Draw(img)
    for o in scene["objects"]:
        _draw_object(draw, o, scale, _jitter(rng, COLOURS[o["colour"]]))
    if antialias:
        img = img.resize((w, h), Image.LANCZOS)
    if rng.random() < 0.25:
        arr = np.asarray(img).astype(np.float32) + np.float32(rng.gauss(0, 6))
        noise = np.random.default_rng(rng.randint(0, 2**31)).standard_normal(arr.shape, dtype=np.float32)
        arr += noise * np.float32(rng.uniform(2, 9))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
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


def patch_labels(scene, size=IMAGE_SIZE, patch=8, squash=False):
    """For the dense auxiliary loss: per patch, the (shape, colour) of the
    object covering its centre, or -1 for background; in preprocessed
    coordinates (llama.cpp's resize and pad, or with `squash` a plain resize
    to size × size, as CLIP's image processor does)."""
    w, h = scene["w"], scene["h"]
    sx = sy = min(size / w, size / h)
    if squash:
        sx, sy = size / w, size / h
    nw, nh = min(math.ceil(w * sx), size), min(math.ceil(h * sy), size)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    g = size // patch
    shape_lbl = np.full(g * g, -1, dtype=np.int64)
    colour_lbl = np.full(g * g, -1, dtype=np.int64)
    for py in range(g):
        for px in range(g):
            X = ((px + 0.5) * patch - ox) / sx
            Y = ((py + 0.5) * patch - oy) / sy
            for o in scene["objects"]:
                if math.hypot(X - o["cx"], Y - o["cy"]) < o["r"] * 0.8:
                    shape_lbl[py * g + px] = SHAPES.index(o["shape"])
                    colour_lbl[py * g + px] = COLOUR_NAMES.index(o["colour"])
    return shape_lbl, colour_lbl


# ----------------------------------------------------------------------------
# Language
#
# Every question type has canonical wordings (the first ones, what the app's
# example buttons ask), more paraphrases, and a few wordings kept out of
# training (HELDOUT_*) so the evaluation can show how far wording generalises.
# Answers keep one fixed style per type.


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


def count_answer(n):
    return "There is 1 shape." if n == 1 else f"There are {NUMBER_WORDS.get(n, str(n))} shapes."


GREETING = (
    "Hello! I can answer questions about the shapes in an image: "
    "their colors, kinds, count and positions."
)
REFUSAL = "I only know simple shapes and colours."
NEED_IMAGE = "Please attach an image and I will tell you about its shapes."
SMALL_TALK = [
    ("Hello", GREETING),
    ("Hi", GREETING),
    ("Hello!", GREETING),
    ("What can you do?", GREETING),
    ("Thank you!", "You are welcome."),
    ("Thanks", "You are welcome."),
    ("OK", "OK."),
]
# Things this model cannot know: it answers with REFUSAL instead of a
# confident sentence in its usual style.
OFF_WORLD = [
    "What is the capital of France?", "Who is this person?", "What breed is the dog?",
    "Read the text in the image.", "What time is it?", "Write a poem about the sea.",
    "Translate this into French.", "What is 2 + 2?", "What's the weather like today?",
    "Tell me a joke.", "Is this a cat?", "What animal is this?", "What brand is the logo?",
    "How old is this person?", "What does the sign say?", "Who painted this?",
    "What is the meaning of life?", "Can you write some code for me?", "Summarize this document.",
    "Where was this photo taken?", "What is the name of this building?", "Is this food healthy?",
    "How much does this cost?", "What language is this?", "Explain quantum physics.",
    "What is the person wearing?", "Which car is this?", "What is on the receipt?",
    "Solve this equation.", "What plant is this?", "Describe the person's face.",
    "What movie is this from?", "What is the date today?", "Who won the game?",
]
HELDOUT_OFF_WORLD = [
    "What is the population of Japan?", "Whose handwriting is this?", "What flower is shown?",
    "Recommend a good book.", "What is the total on this invoice?", "Which city is this?",
]
# Words for rambling prompts (a long paste of unrelated text).
_FILLER = (
    "the of and to in is that for it as was with be by on not he this are or his from at which but have an "
    "they you were her she there one all we their been has would when will more no if out so said what up its "
    "about into than them can only other new some could time these two may then do first any my now such like "
    "our over man me even most made after also did many before must through back years where much your way well "
    "down should because each just those people how too little state good very make world still own see men work "
    "long get here between both life being under never day same another know while last might us great old year "
    "off come since against go came right used take three meeting report budget weather garden kitchen travel"
).split()

CANONICAL = {
    "colour": ["What color is the {s}?", "What colour is the {s}?", "Which color is the {s}?"],
    "shape": ["What shape is {c}?", "Which shape is {c}?", "What is the {c} shape?"],
    "presence": ["Is there a {c} {s}?"],
    "count": ["How many shapes are there?", "How many shapes are in the image?", "Count the shapes."],
    "position": ["Is the {s} on the left or the right?", "Where is the {s}?", "Which side is the {s} on?"],
    "describe": ["Describe the image.", "What is in the image?", "Describe this picture."],
}
PARAPHRASES = {
    "colour": [
        "What's the colour of the {s}?", "What is the color of the {s}?", "What color does the {s} have?",
        "Tell me the color of the {s}.", "The {s} is what color?", "Colour of the {s}?", "What colour is the {s} in the image?",
        "Which colour is the {s}?", "What color is the {s} in this picture?", "And the {s}, what color is it?",
    ],
    "shape": [
        "Which shape is the {c} one?", "What kind of shape is {c}?", "What shape is the {c} thing?",
        "Which shape has the color {c}?", "Name the {c} shape.", "What is the {c} object?", "The {c} shape is what?",
        "What shape is the {c} one?",
    ],
    "presence": [
        "Do you see a {c} {s}?", "Is there a {c} {s} in the image?", "Can you see a {c} {s}?",
        "Does the image contain a {c} {s}?", "Any {c} {s}?", "Is there any {c} {s} here?", "Is a {c} {s} in the picture?",
    ],
    "count": [
        "How many shapes do you see?", "How many objects are there?", "How many shapes?", "What is the number of shapes?",
        "How many things are in the picture?", "Count the objects.", "How many shapes are in this picture?",
    ],
    "position": [
        "Is the {s} left or right?", "On which side is the {s}?", "Where's the {s}?", "Is the {s} on the right or the left?",
        "Which side of the image is the {s} on?",
    ],
    "describe": [
        "What do you see?", "What's in this picture?", "Describe it.", "Tell me what is in the image.",
        "What does the image show?", "Can you describe the image?", "What is this?", "Describe the picture.",
    ],
    # Questions about the one shape of a one-shape image.
    "it_shape": ["What shape is it?", "What shape is this?", "Which shape do you see?", "What shape is in the image?",
                 "What is the shape?"],
    "it_colour": ["What color is it?", "What colour is the shape?", "What color is this shape?", "Which colour is it?"],
}
HELDOUT_WORDINGS = {
    "colour": ["Which colour does the {s} have?", "What's the {s}'s colour?"],
    "shape": ["Tell me which shape is {c}.", "Which one is {c}?"],
    "presence": ["Is a {c} {s} visible?", "Do you spot a {c} {s}?"],
    "count": ["How many shapes can you count?", "Number of shapes?"],
    "position": ["Is the {s} on the right side or the left side?", "Is the {s} placed left or right?"],
    "describe": ["Please describe what you see.", "Give me a description of the image."],
}
ORDINALS = ["first", "second", "third", "fourth"]


def vary(rng, q, p=0.35):
    """Surface variation a user types: casing, punctuation, spelling of colour."""
    if rng.random() >= p:
        return q
    r = rng.random()
    if r < 0.3:
        q = q.lower()
    elif r < 0.4:
        q = q.upper()
    elif r < 0.55:
        q = q[0].lower() + q[1:]
    if rng.random() < 0.3:
        q = q.rstrip("?.!")
    elif rng.random() < 0.15:
        q = q.rstrip("?.!") + rng.choice(["??", "?!", " ?", "."])
    if rng.random() < 0.2:
        q = q.replace("color", "colour") if "color" in q else q.replace("colour", "color")
    if rng.random() < 0.1:
        q = rng.choice(["Please, ", "Hey, ", "Can you tell me: "]) + q[0].lower() + q[1:]
    return q


def _template(rng, kind, style):
    """style: 'canonical', 'paraphrase' (training wordings), 'heldout', or 'any' (training mix)."""
    if style == "canonical":
        return rng.choice(CANONICAL[kind])
    if style == "paraphrase":
        return rng.choice(PARAPHRASES[kind])
    if style == "heldout":
        return rng.choice(HELDOUT_WORDINGS[kind])
    return rng.choice(CANONICAL[kind] if rng.random() < 0.45 else PARAPHRASES[kind])


def questions(rng, scene, kind=None, style="any"):
    """One (kind, question, answer) about the scene; kind None picks one.
    Training uses style 'any' (canonical and paraphrased wordings with surface
    variation); the evaluation asks for one style."""
    objs = scene["objects"]
    by_shape = {s: [o for o in objs if o["shape"] == s] for s in SHAPES}
    by_colour = {c: [o for o in objs if o["colour"] == c] for c in COLOUR_NAMES}
    kinds = ["colour", "shape", "presence", "count", "position", "describe"]
    surface = (lambda q: vary(rng, q)) if style in ("any", "paraphrase") else (lambda q: q)
    for _ in range(20):
        k = kind or rng.choice(kinds)
        if k == "colour":
            if len(objs) == 1 and style in ("any", "paraphrase") and rng.random() < 0.2:
                o = objs[0]
                return k, surface(rng.choice(PARAPHRASES["it_colour"])), f"The {o['shape']} is {o['colour']}."
            unique = [s for s in SHAPES if len(by_shape[s]) == 1]
            absent = [s for s in SHAPES if not by_shape[s]]
            if absent and style == "any" and rng.random() < 0.12:
                s = rng.choice(absent)
                return k, surface(_template(rng, k, style).format(s=s)), f"There is no {s}."
            if not unique:
                continue
            s = rng.choice(unique)
            c = by_shape[s][0]["colour"]
            return k, surface(_template(rng, k, style).format(s=s)), f"The {s} is {c}."
        if k == "shape":
            if len(objs) == 1 and style in ("any", "paraphrase") and rng.random() < 0.2:
                return k, surface(rng.choice(PARAPHRASES["it_shape"])), f"It is a {objs[0]['shape']}."
            unique = [c for c in COLOUR_NAMES if len(by_colour[c]) == 1]
            absent = [c for c in COLOUR_NAMES if not by_colour[c]]
            if absent and style == "any" and rng.random() < 0.12:
                c = rng.choice(absent)
                return k, surface(_template(rng, k, style).format(c=c)), f"There is no {c} shape."
            if not unique:
                continue
            c = rng.choice(unique)
            s = by_colour[c][0]["shape"]
            return k, surface(_template(rng, k, style).format(c=c)), f"The {c} shape is a {s}."
        if k == "presence":
            if rng.random() < 0.5:
                o = rng.choice(objs)
                c, s, yes = o["colour"], o["shape"], True
            else:
                c, s = rng.choice(COLOUR_NAMES), rng.choice(SHAPES)
                yes = any(o["colour"] == c and o["shape"] == s for o in objs)
            return k, surface(_template(rng, k, style).format(c=c, s=s)), "Yes." if yes else "No."
        if k == "count":
            return k, surface(_template(rng, k, style)), count_answer(len(objs))
        if k == "position":
            unique = [s for s in SHAPES if len(by_shape[s]) == 1 and abs(by_shape[s][0]["cx"] / scene["w"] - 0.5) > 0.12]
            if not unique:
                continue
            s = rng.choice(unique)
            side = "left" if by_shape[s][0]["cx"] < scene["w"] / 2 else "right"
            return k, surface(_template(rng, k, style).format(s=s)), f"The {s} is on the {side}."
        if k == "describe":
            return k, surface(_template(rng, k, style)), describe(scene)
    return "count", "How many shapes are there?", count_answer(len(objs))


def describe_images(scenes):
    parts = []
    for i, sc in enumerate(scenes):
        d = describe(sc)
        parts.append(f"The {ORDINALS[i]} image shows {d[0].lower()}{d[1:]}")
    return " ".join(parts)


def count_images_answer(scenes):
    parts = []
    for i, sc in enumerate(scenes):
        n = len(sc["objects"])
        parts.append(f"The {ORDINALS[i]} image has {n} shape{'s' if n != 1 else ''}.")
    return " ".join(parts)


def multi_image_question(rng, scenes, kind=None, surface=True):
    """A question about several images sent in one message (2–4 images),
    naming an image by its place ('the second image') or asking about all."""
    n = len(scenes)
    sv = (lambda q: vary(rng, q)) if surface else (lambda q: q)
    kinds = ["n_images", "count_in", "colour_in", "presence_in", "count_all", "describe_all"]
    k = kind or rng.choice(kinds)
    which = rng.randrange(n)
    ref = rng.choice([f"the {ORDINALS[which]} image", f"the {ORDINALS[which]} picture", f"image {which + 1}"])
    sc = scenes[which]
    if k == "n_images":
        q = rng.choice(["How many images are there?", "How many images did I send?", "How many pictures are there?"])
        return k, sv(q), f"There are {n} images."
    if k == "count_in":
        q = rng.choice([f"How many shapes are in {ref}?", f"How many shapes does {ref} have?", f"Count the shapes in {ref}."])
        return k, sv(q), count_answer(len(sc["objects"]))
    if k == "colour_in":
        by_shape = {s: [o for o in sc["objects"] if o["shape"] == s] for s in SHAPES}
        unique = [s for s in SHAPES if len(by_shape[s]) == 1]
        if unique:
            s = rng.choice(unique)
            q = rng.choice([f"What color is the {s} in {ref}?", f"In {ref}, what colour is the {s}?"])
            return k, sv(q), f"The {s} is {by_shape[s][0]['colour']}."
        k = "presence_in"
    if k == "presence_in":
        if rng.random() < 0.5:
            o = rng.choice(sc["objects"])
            c, s, yes = o["colour"], o["shape"], True
        else:
            c, s = rng.choice(COLOUR_NAMES), rng.choice(SHAPES)
            yes = any(o["colour"] == c and o["shape"] == s for o in sc["objects"])
        q = rng.choice([f"Is there a {c} {s} in {ref}?", f"Does {ref} have a {c} {s}?"])
        return k, sv(q), "Yes." if yes else "No."
    if k == "count_all":
        q = rng.choice(["How many shapes are there?", "How many shapes are in each image?", "Count the shapes."])
        return k, sv(q), count_images_answer(scenes)
    q = rng.choice(["Describe the images.", "Describe each image.", "What is in these images?", "Describe the image."])
    return "describe_all", sv(q), describe_images(scenes)


def rambling(rng, min_chars=200, max_chars=900):
    """A long paste of unrelated words, as users sometimes send."""
    n = rng.randint(min_chars, max_chars)
    words = []
    while sum(len(w) + 1 for w in words) < n:
        words.append(rng.choice(_FILLER))
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", "?", ""])


SYSTEM_PROMPTS = [
    "You are a helpful assistant.", "Answer briefly.", "You are a helpful assistant that describes images.",
    "Be concise.", "You are an expert in shapes.", "Reply in one sentence.",
]


# ----------------------------------------------------------------------------
# A second renderer, for evaluation only: the same scenes written as SVG (the
# evaluation rasterises them with librsvg through sharp), so the figures show
# whether the model learned shapes or this file's way of drawing them.

SVG_COLOURS = {
    "red": "#d81e28", "green": "#22a040", "blue": "#2646d8", "yellow": "#efc820", "purple": "#8a2ca8", "orange": "#f5851a",
}


def to_svg(rng, scene):
    w, h = scene["w"], scene["h"]
    bg = rng.choice(["#ffffff", "#ffffff", "#f4f1ea", "#e8eef6", "#dddddd", "gradient"])
    defs, fill = "", bg
    if bg == "gradient":
        a = "#%02x%02x%02x" % tuple(rng.randint(200, 255) for _ in range(3))
        b = "#%02x%02x%02x" % tuple(rng.randint(200, 255) for _ in range(3))
        defs = f'<defs><linearGradient id="g" x2="{rng.choice([0, 1])}" y2="1"><stop offset="0" stop-color="{a}"/><stop offset="1" stop-color="{b}"/></linearGradient></defs>'
        fill = "url(#g)"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">{defs}',
           f'<rect width="{w}" height="{h}" fill="{fill}"/>']
    for o in scene["objects"]:
        cx, cy, r, col = o["cx"], o["cy"], o["r"], SVG_COLOURS[o["colour"]]
        if o["shape"] == "circle":
            out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{col}"/>')
        elif o["shape"] == "square":
            s = r * 0.9
            out.append(f'<rect x="{cx - s:.1f}" y="{cy - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}" fill="{col}"/>')
        else:
            pts = [(cx, cy - r), (cx - r * 0.95, cy + r * 0.75), (cx + r * 0.95, cy + r * 0.75)]
            out.append('<polygon points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + f'" fill="{col}"/>')
    out.append("</svg>")
    return "".join(out)


# ----------------------------------------------------------------------------
# Charts (issue 26): tables of shape counts and colours that the app turns
# into a chart (lib/media/data.ts: a bar chart for a text column and a number
# column, a line for a date and a number), and questions about them. The
# chart images themselves are drawn by the app's own renderer
# (models/train/render-charts.ts calls lib/media/data.ts's readData), so
# training sees exactly the pixels and the table summary the app sends; this
# section only makes the tables, the questions and a second renderer for the
# evaluation. Added after everything above, which it does not touch, so the
# shipped model's data stays reproducible.

CHART_KINDS = ["tallest", "n_bars", "value", "trend"]
BAR_CATEGORY_COLUMNS = ["shape", "colour", "color"]
BAR_VALUE_COLUMNS = ["count", "number", "total", "value"]
LINE_DATE_COLUMNS = ["date", "day", "month"]
LINE_VALUE_COLUMNS = ["count", "shapes", "value", "total"]


def random_chart_table(rng, mark=None):
    """A table the app charts: {'mark', 'x', 'y', 'rows': [[x, value], …]}.
    Bars: 2–3 shapes or 2–5 colours (at most 5 rows, so every value is also
    in the summary's first rows), counts 1–9 with one largest. Lines: 5–12
    consecutive days or months, counts 1–30, clearly going up or down from
    the first point to the last (by at least 6)."""
    mark = mark or ("bar" if rng.random() < 0.7 else "line")
    if mark == "bar":
        x = rng.choice(BAR_CATEGORY_COLUMNS)
        pool = SHAPES if x == "shape" else COLOUR_NAMES
        n = rng.randint(2, min(5, len(pool)))
        cats = rng.sample(pool, n)
        while True:
            vals = [rng.randint(1, 9) for _ in cats]
            if vals.count(max(vals)) == 1:
                break
        return {"mark": "bar", "x": x, "y": rng.choice(BAR_VALUE_COLUMNS), "rows": [[c, v] for c, v in zip(cats, vals)]}
    x = rng.choice(LINE_DATE_COLUMNS)
    n = rng.randint(5, 12)
    up = rng.random() < 0.5
    while True:
        start = rng.randint(1, 12) if up else rng.randint(19, 30)
        drift = rng.uniform(1.0, 3.0) * (1 if up else -1)
        vals = [start]
        for _ in range(n - 1):
            vals.append(max(1, min(30, round(vals[-1] + drift + rng.uniform(-2.5, 2.5)))))
        if (vals[-1] - vals[0]) * (1 if up else -1) >= 6:
            break
    year, month, day = rng.randint(2019, 2026), rng.randint(1, 12), rng.randint(1, 15)
    dates = []
    for i in range(n):
        if x == "month":
            m = (month - 1 + i) % 12 + 1
            dates.append(f"{year + (month - 1 + i) // 12}-{m:02d}")
        else:
            dates.append(f"{year}-{month:02d}-{day + i:02d}")
    return {"mark": "line", "x": x, "y": rng.choice(LINE_VALUE_COLUMNS), "rows": [[d, v] for d, v in zip(dates, vals)]}


def chart_csv(table):
    """The table as the CSV a user would upload."""
    return "\n".join([f"{table['x']},{table['y']}"] + [f"{a},{b}" for a, b in table["rows"]]) + "\n"


def chart_prompt_text(summary):
    """The text the app puts after the chart image (lib/media/prompt-parts.ts,
    mediaPromptParts for a table with one chart); the user's question follows
    on the next line (lib/chat/build-model-input.ts)."""
    return f"[{summary}\nThe image above is the chart.]"


CHART_CANONICAL = {
    "tallest": ["Which bar is tallest?"],
    "n_bars": ["How many bars?"],
    "value": ["What is the value of {c}?"],
    "trend": ["Is the line going up?"],
}
CHART_PARAPHRASES = {
    "tallest": ["Which bar is the tallest?", "Which is the tallest bar?", "Which bar is highest?", "What is the highest bar?",
                "Which {x} has the highest {y}?", "Which {x} has the most?", "Which bar is the biggest?"],
    "n_bars": ["How many bars are there?", "How many bars are in the chart?", "Count the bars.", "How many bars does the chart have?",
               "How many bars do you see?", "Number of bars?"],
    "value": ["What is the {y} of {c}?", "How much is {c}?", "What value does {c} have?", "How high is the {c} bar?",
              "What is the value for {c}?", "What's the value of {c}?", "Value of {c}?"],
    "trend": ["Does the line go up?", "Is the line rising?", "Is the trend going up?", "Does the {y} go up?",
              "Is the line going down?", "Does the line go down?", "Is the line falling?", "Is the {y} going down?"],
}
CHART_HELDOUT = {
    "tallest": ["Which bar is the largest?", "Which {x} is the top one?"],
    "n_bars": ["How many bars can you count?", "What is the number of bars?"],
    "value": ["Tell me the value of {c}.", "What number does {c} have?"],
    "trend": ["Is the line increasing?", "Is the line decreasing?"],
}
_DOWN_WORDS = ("down", "falling", "decreasing")


def chart_question(rng, table, kind=None, style="any"):
    """(kind, question, answer) about a chart table; kind None picks one that
    fits the mark. style as in questions(): 'canonical', 'paraphrase',
    'heldout' or 'any' (training: canonical 45 %, else paraphrased, with
    surface variation)."""
    if kind is None:
        kind = "trend" if table["mark"] == "line" else rng.choice(["tallest", "n_bars", "value"])
    if (kind == "trend") != (table["mark"] == "line"):
        raise ValueError(f"a {kind} question does not fit a {table['mark']} chart")
    if style == "canonical":
        tmpl = rng.choice(CHART_CANONICAL[kind])
    elif style == "paraphrase":
        tmpl = rng.choice(CHART_PARAPHRASES[kind])
    elif style == "heldout":
        tmpl = rng.choice(CHART_HELDOUT[kind])
    else:
        tmpl = rng.choice(CHART_CANONICAL[kind] if rng.random() < 0.45 else CHART_PARAPHRASES[kind])
    rows = table["rows"]
    c = rng.choice(rows)[0] if rows else ""
    q = tmpl.format(x=table["x"], y=table["y"], c=c)
    if style in ("any", "paraphrase"):
        q = vary(rng, q)
    if kind == "tallest":
        return kind, q, f"The tallest bar is {max(rows, key=lambda r: r[1])[0]}."
    if kind == "n_bars":
        return kind, q, f"There are {len(rows)} bars."
    if kind == "value":
        return kind, q, f"The value of {c} is {dict(rows)[c]}."
    up = rows[-1][1] > rows[0][1]
    asks_down = any(w in tmpl for w in _DOWN_WORDS)
    if asks_down:
        return kind, q, "Yes, the line goes down." if not up else "No, the line goes up."
    return kind, q, "Yes, the line goes up." if up else "No, the line goes down."


def render_chart_pil(rng, table, w=None, h=None):
    """The second chart renderer, for evaluation only: PIL, its own styling
    (no title or axis labels, bars in the table's order and in a random
    colour, a thick line with dots, a light grid), so the figures show whether
    the model reads the chart or the app renderer's way of drawing it."""
    w = w or rng.choice([640, 800, 960])
    h = h or int(w * rng.uniform(0.55, 0.75))
    img = Image.new("RGB", (w, h), rng.choice([(255, 255, 255), (248, 248, 244), (240, 244, 250)]))
    d = ImageDraw.Draw(img)
    left, right, top, bottom = int(w * 0.1), int(w * 0.96), int(h * 0.08), int(h * 0.88)
    vals = [v for _, v in table["rows"]]
    vmax = 10 if table["mark"] == "bar" else 32
    for g in range(0, vmax + 1, 2 if vmax == 10 else 5):
        y = bottom - (bottom - top) * g / vmax
        d.line([(left, y), (right, y)], fill=(215, 215, 215), width=1)
    d.line([(left, top), (left, bottom), (right, bottom)], fill=(60, 60, 60), width=2)
    n = len(vals)
    if table["mark"] == "bar":
        colour = rng.choice([(230, 120, 40), (70, 150, 90), (120, 90, 180), (60, 110, 200)])
        slot = (right - left) / n
        for i, v in enumerate(vals):
            x0 = left + slot * (i + 0.18)
            x1 = left + slot * (i + 0.82)
            d.rectangle([x0, bottom - (bottom - top) * v / vmax, x1, bottom - 1], fill=colour)
    else:
        colour = rng.choice([(200, 50, 50), (40, 120, 60), (40, 70, 190)])
        pts = [(left + (right - left) * (i + 0.5) / n, bottom - (bottom - top) * v / vmax) for i, v in enumerate(vals)]
        d.line(pts, fill=colour, width=max(3, w // 200))
        for x, y in pts:
            r = max(3, w // 160)
            d.ellipse([x - r, y - r, x + r, y + r], fill=colour)
    return img
