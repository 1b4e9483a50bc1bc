"""Stage 1 on its own, for image search: trains the CLIP-style joint
image–text embedding (train.py's stage-1 recipe: contrastive loss, dense
per-patch shape and colour labels, a count head) and exports the two encoders
as ONNX in the folder layout transformers.js loads locally:

    models/clip/shapes-clip/{config.json, preprocessor_config.json,
        tokenizer.json, tokenizer_config.json, onnx/vision_model.onnx,
        onnx/text_model.onnx}

    npm run models:train:clip -- [--minutes 30] [--pool 16000] [--seed 1] [--background any|light]

Images come from world.py on backgrounds of every style by default (light,
dark, coloured, textured: --background any), shapes from tiny to filling the
canvas, and are resized to 48 × 48 without keeping the aspect, the way the
exported preprocessor_config.json tells transformers.js to. CPU by default
(one torch thread), CUDA when PyTorch sees it.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import sys
import time
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402
from model import PRINTABLE0, SPACE, VOCAB_SIZE, Vision  # noqa: E402
from PIL import Image  # noqa: E402
from train import log, stage1  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), "..", "clip", "shapes-clip")


class VisionExport(nn.Module):
    def __init__(self, vision, heads):
        super().__init__()
        self.vision, self.heads = vision, heads

    def forward(self, pixel_values):
        pooled = self.vision.features(pixel_values).mean(1)
        return F.normalize(self.heads.embed(pooled), dim=-1)


class TextExport(nn.Module):
    def __init__(self, text):
        super().__init__()
        self.text = text

    def forward(self, input_ids, attention_mask):
        t = self.text
        mask = attention_mask > 0
        x = t.emb(input_ids) + t.pos[: input_ids.shape[1]]
        for layer in t.enc.layers:
            x = layer(x, src_key_padding_mask=~mask)
        m = mask.unsqueeze(-1).float()
        x = (x * m).sum(1) / m.sum(1)
        return F.normalize(t.proj(x), dim=-1)


def tokenizer_json():
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    vocab["\u2581"] = SPACE
    for o in range(0x21, 0x7F):
        vocab[chr(o)] = PRINTABLE0 + o - 0x21
    return {
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 96, "strategy": "LongestFirst", "stride": 0},
        "padding": None,
        "added_tokens": [
            {"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": True}
            for c, i in [("<unk>", 0), ("<s>", 1), ("</s>", 2)]
        ],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
        "pre_tokenizer": {"type": "Split", "pattern": {"Regex": "."}, "behavior": "Isolated", "invert": False},
        "post_processor": None,
        "decoder": {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "<unk>"},
    }


SIZE = 48  # the encoder's input: 6 × 6 patches of 8 px
VISION = dict(image_size=SIZE, patch=8, d=128, n_layer=4, n_head=4, d_ff=256)


def _example(job):
    """One training image: a world scene on a background of `style`, resized
    to SIZE × SIZE as transformers.js's CLIP image processor does (bicubic;
    a quarter of them bilinear or Lanczos, so the encoder is not tied to one
    resampler), with its patch labels."""
    seed, style = job
    rng = random.Random(seed)
    scene = world.random_scene(rng)
    img = world.render(rng, scene, background=style)
    method = rng.choices([Image.BICUBIC, Image.BILINEAR, Image.LANCZOS], [0.75, 0.125, 0.125])[0]
    pix = np.asarray(img.resize((SIZE, SIZE), method), dtype=np.uint8)
    shape_lbl, colour_lbl = world.patch_labels(scene, size=SIZE, patch=8, squash=True)
    return scene, pix, shape_lbl, colour_lbl


def make_pool(n, seed0, style, procs):
    with mp.Pool(procs) as workers:
        items = workers.map(_example, [(s, style) for s in range(seed0, seed0 + n)], chunksize=64)
    return types.SimpleNamespace(
        scenes=[it[0] for it in items],
        pixels=torch.from_numpy(np.stack([it[1] for it in items])).permute(0, 3, 1, 2).contiguous(),
        shape_lbl=torch.from_numpy(np.stack([it[2] for it in items])),
        colour_lbl=torch.from_numpy(np.stack([it[3] for it in items])),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30, help="training time (wall clock), after the images are drawn")
    ap.add_argument("--pool", type=int, default=16000, help="images drawn once and trained on")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--background", choices=["any", "light"], default="any")
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1, help="processes drawing the images")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    t0 = time.time()
    pool = make_pool(args.pool, args.seed * 1_000_000 + 7, args.background, args.procs)
    log(f"{args.pool} images ({args.background} backgrounds) in {time.time() - t0:.0f}s")
    pool.pixels = pool.pixels.to(args.device)
    pool.shape_lbl, pool.colour_lbl = pool.shape_lbl.to(args.device), pool.colour_lbl.to(args.device)
    vision = Vision(**VISION).to(args.device)
    heads, text = stage1(types.SimpleNamespace(vision=vision), pool, args.minutes * 60, rng, args.device, args.batch)
    vision, heads, text = vision.cpu().eval(), heads.cpu().eval(), text.cpu().eval()
    out = args.out
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    vis = VisionExport(vision, heads)
    txt = TextExport(text)
    torch.onnx.export(vis, torch.zeros(1, 3, SIZE, SIZE), os.path.join(out, "onnx", "vision_model.onnx"),
                      input_names=["pixel_values"], output_names=["image_embeds"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, opset_version=14)
    ids = torch.ones(2, 12, dtype=torch.long) * 300
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, 8:] = 0
    torch.onnx.export(txt, (ids, mask), os.path.join(out, "onnx", "text_model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["text_embeds"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                    "text_embeds": {0: "batch"}}, opset_version=14)
    config = {
        "model_type": "clip",
        "architectures": ["CLIPModel"],
        "projection_dim": 64,
        "text_config": {"model_type": "clip_text_model", "vocab_size": VOCAB_SIZE, "max_position_embeddings": 96, "hidden_size": 96},
        "vision_config": {"model_type": "clip_vision_model", "image_size": SIZE, "patch_size": VISION["patch"], "hidden_size": VISION["d"]},
        "logit_scale": float(heads.logit_scale.exp().clamp(max=100)),
    }
    pre = {
        "image_processor_type": "CLIPImageProcessor", "processor_class": "CLIPProcessor",
        "do_resize": True, "size": {"height": SIZE, "width": SIZE}, "resample": 3,
        "do_center_crop": False, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "do_convert_rgb": True,
    }
    tok_cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 96, "unk_token": "<unk>", "pad_token": "<unk>",
               "bos_token": "<s>", "eos_token": "</s>", "clean_up_tokenization_spaces": False}
    for name, data in [("config.json", config), ("preprocessor_config.json", pre), ("tokenizer.json", tokenizer_json()),
                       ("tokenizer_config.json", tok_cfg)]:
        with open(os.path.join(out, name), "w") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
    log(f"exported to {os.path.abspath(out)}")


if __name__ == "__main__":
    main()
