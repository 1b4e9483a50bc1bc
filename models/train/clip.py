"""Stage 1 on its own, for image search: trains the CLIP-style joint
image–text embedding (the same recipe as train.py's stage 1) and exports the
two encoders as ONNX in the folder layout transformers.js loads locally:

    models/clip/shapes-clip/{config.json, preprocessor_config.json,
        tokenizer.json, tokenizer_config.json, onnx/vision_model.onnx,
        onnx/text_model.onnx}

    python3 models/train/clip.py [--steps 1500] [--seed 1]
"""
import argparse
import json
import os
import random
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402
from model import PRINTABLE0, SPACE, VOCAB_SIZE, MiniLlava  # noqa: E402
from train import log, make_pool, stage1  # noqa: E402

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--pool", type=int, default=8000)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    pool = make_pool(args.pool, seed0=args.seed * 1_000_000 + 7, procs=1)
    model = MiniLlava()
    heads, text = stage1(model, pool, args.steps, rng)
    model.eval(), heads.eval(), text.eval()
    os.makedirs(os.path.join(OUT, "onnx"), exist_ok=True)
    vis = VisionExport(model.vision, heads)
    txt = TextExport(text)
    torch.onnx.export(vis, torch.zeros(1, 3, 48, 48), os.path.join(OUT, "onnx", "vision_model.onnx"),
                      input_names=["pixel_values"], output_names=["image_embeds"],
                      dynamic_axes={"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}}, opset_version=14)
    ids = torch.ones(2, 12, dtype=torch.long) * 300
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, 8:] = 0
    torch.onnx.export(txt, (ids, mask), os.path.join(OUT, "onnx", "text_model.onnx"),
                      input_names=["input_ids", "attention_mask"], output_names=["text_embeds"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                                    "text_embeds": {0: "batch"}}, opset_version=14)
    config = {
        "model_type": "clip",
        "architectures": ["CLIPModel"],
        "projection_dim": 64,
        "text_config": {"model_type": "clip_text_model", "vocab_size": VOCAB_SIZE, "max_position_embeddings": 96, "hidden_size": 96},
        "vision_config": {"model_type": "clip_vision_model", "image_size": 48, "patch_size": 8, "hidden_size": 128},
        "logit_scale": float(heads.logit_scale.exp().clamp(max=100)),
    }
    pre = {
        "image_processor_type": "CLIPImageProcessor", "processor_class": "CLIPProcessor",
        "do_resize": True, "size": {"height": 48, "width": 48}, "resample": 3,
        "do_center_crop": False, "do_rescale": True, "rescale_factor": 1 / 255,
        "do_normalize": True, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "do_convert_rgb": True,
    }
    tok_cfg = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": 96, "unk_token": "<unk>", "pad_token": "<unk>",
               "bos_token": "<s>", "eos_token": "</s>", "clean_up_tokenization_spaces": False}
    for name, data in [("config.json", config), ("preprocessor_config.json", pre), ("tokenizer.json", tokenizer_json()),
                       ("tokenizer_config.json", tok_cfg)]:
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, indent=1, ensure_ascii=False)
    log(f"exported to {os.path.abspath(OUT)}")


if __name__ == "__main__":
    main()
