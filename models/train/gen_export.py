"""Exports the generator's EMA weights from models/train/out/gen/ckpt.pt to
models/imagegen/shapes-gen/: text_encoder.onnx (word ids → word vectors, key
bias, pooled vector), velocity.onnx (one flow step's velocity for a batch, from the
image, the time, the prompt's vectors and the layout map;
cond and uncond rows together) and config.json (vocabulary, tokenizer rule,
size, steps, guidance, normalisation, provenance, and the layout stage's
grid, channel order, radii and one painted reference scene, which
tests/unit/imagegen-layout.test.ts compares lib/imagegen/local-layout.ts with).

    /usr/bin/python3 models/train/gen_export.py [--ckpt PATH] [--out DIR] [--steps N] [--guidance G]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_data  # noqa: E402
from gen_model import Generator, TextExport, VelocityExport  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def layout_config():
    """What lib/imagegen/local-layout.ts needs to plan and paint the layout map as
    gen_data does, plus one painted scene for its test to compare against."""
    objects = [{"shape": "circle", "colour": "red"}, {"shape": "triangle", "colour": "blue"}]
    pos = [(0.3, 0.25, 0.17), (0.62, 0.71, 0.2)]
    ref = gen_data.layout_map(objects, pos)
    return {
        "size": gen_data.LAYOUT,
        "shapes": gen_data.SHAPES,
        "colours": gen_data.COLOUR_NAMES,
        "radius": {"small": list(gen_data.RADIUS["small"]), "large": list(gen_data.RADIUS["large"]),
                   "default": list(gen_data.RADIUS[None])},
        "multi_radius": {str(k): list(v) for k, v in gen_data.MULTI_RADIUS.items()},
        "reference": {"objects": objects, "pos": [list(p) for p in pos],
                      "nonzero": [[int(i), round(float(ref.flat[i]), 5)] for i in range(ref.size) if ref.flat[i] > 0]},
        "rule": "channels: coverage, shape one-hot, colour one-hot; each cell holds how much of it the object's box [cx ± r, cy ± r] covers; row = y",
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default=os.path.join(ROOT, "models", "train", "out", "gen", "ckpt.pt"))
    ap.add_argument("--out", default=os.path.join(ROOT, "models", "imagegen", "shapes-gen"))
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--shift", type=float, default=1.0, help="sampler time-grid shift towards the noisy end (1 = uniform)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(args.ckpt, map_location="cpu")
    assert ck["vocab"] == gen_data.VOCAB, "the checkpoint's vocabulary differs from gen_data.py's"
    g = Generator(len(gen_data.VOCAB), layout_channels=gen_data.LAYOUT_CHANNELS)
    g.load_state_dict(ck["ema"])
    g.eval()
    os.makedirs(args.out, exist_ok=True)
    L = gen_data.MAX_TOKENS
    tokens = torch.tensor([gen_data.tokenize("a red circle"), gen_data.NULL_TOKENS])
    with torch.no_grad():
        ctx, bias, pooled = g.text(tokens)
    torch.onnx.export(
        TextExport(g), (tokens,), os.path.join(args.out, "text_encoder.onnx"),
        input_names=["tokens"], output_names=["ctx", "bias", "pooled"],
        dynamic_axes={"tokens": {0: "batch"}, "ctx": {0: "batch"}, "bias": {0: "batch"}, "pooled": {0: "batch"}},
        opset_version=14,
    )
    x = torch.randn(2, 3, gen_data.SIZE, gen_data.SIZE)
    t = torch.tensor([0.5, 0.5])
    lay = torch.zeros(2, gen_data.LAYOUT_CHANNELS, gen_data.LAYOUT, gen_data.LAYOUT)
    torch.onnx.export(
        VelocityExport(g), (x, t, ctx, bias, pooled, lay), os.path.join(args.out, "velocity.onnx"),
        input_names=["x", "t", "ctx", "bias", "pooled", "layout"], output_names=["v"],
        dynamic_axes={n: {0: "batch"} for n in ["x", "t", "ctx", "bias", "pooled", "layout", "v"]},
        opset_version=14,
    )
    n_params = sum(p.numel() for p in g.parameters())
    config = {
        "id": "shapes-gen",
        "model_type": "rectified-flow-unet",
        "image_size": gen_data.SIZE,
        "channels": 3,
        "normalisation": "pixel = (x + 1) * 127.5, x in [-1, 1], RGB, NCHW",
        "time": "t = 1 is noise, t = 0 is the image; x_t = (1 - t) * x0 + t * noise; v = noise - x0",
        "sampler": "euler",
        "default_steps": args.steps,
        "max_steps": 50,
        "guidance_scale": args.guidance,
        "time_shift": args.shift,
        "max_tokens": L,
        "tokenizer": {
            "rule": "lower-case the prompt, take runs of [a-z0-9] as words, prepend <bos>, map words to ids (unknown words to <unk>), truncate to max_tokens, pad with <pad>",
            "pad_id": gen_data.PAD, "unk_id": gen_data.UNK, "bos_id": gen_data.BOS,
            "null_prompt": "[<bos>] + padding (the unconditional row for classifier-free guidance)",
        },
        "vocab": gen_data.VOCAB,
        "layout": layout_config(),
        "parameters": n_params,
        "training": {"steps": ck["step"], "minutes": round(ck["minutes"], 1), "device": ck["device"],
                     "batch": ck["batch"], "seed": ck["seed"]},
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    total = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
    print(f"exported step {ck['step']} ({ck['minutes']:.1f} min) to {args.out}: {total / 1e6:.1f} MB, {n_params} parameters")


if __name__ == "__main__":
    main()
