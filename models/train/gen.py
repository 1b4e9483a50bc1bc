"""Trains the shape-world text-to-image generator (rectified flow, 64×64 RGB).

    /usr/bin/python3 models/train/gen.py --minutes 70      # train (CPU; CUDA when present)
    /usr/bin/python3 models/train/gen_export.py            # ONNX + config into models/imagegen/shapes-gen

`npm run models:train:gen` does both (models/train/gen.sh). The budget is
wall-clock; a checkpoint (weights, EMA weights, optimiser, step, RNG state) is
written to models/train/out/gen/ckpt.pt every --ckpt-minutes and at the end,
so an early export is possible while training goes on. Data are drawn on the
fly from the project's world (gen_data.py → world.py), seeded by --seed.

Flow matching: x_t = (1 − t)·x0 + t·ε; the network predicts the clean image
x0̂ and the loss is on the velocity it implies, v̂ = (x_t − x0̂)/t against
v = ε − x0 (gen_model.py says why);
sampling integrates dx/dt = v from t = 1 (noise) to t = 0 with Euler steps and
classifier-free guidance (the prompt is dropped for 10 % of training rows).
"""
import argparse
import copy
import math
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_data  # noqa: E402
from gen_model import Generator  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "models", "train", "out", "gen")


@torch.no_grad()
def sample(model, prompts, layouts, steps=12, guidance=3.0, seed=0, device="cpu"):
    """Euler sampling with CFG (the null row has neither prompt nor layout); returns uint8 [N, 64, 64, 3]."""
    g = torch.Generator().manual_seed(seed)
    n = len(prompts)
    x = torch.randn(n, 3, gen_data.SIZE, gen_data.SIZE, generator=g).to(device)
    cond = torch.tensor([gen_data.tokenize(p) for p in prompts], device=device)
    unc = torch.tensor([gen_data.NULL_TOKENS] * n, device=device)
    toks = torch.cat([cond, unc])
    lay = torch.from_numpy(np.stack(layouts)).to(device)
    lay = torch.cat([lay, torch.zeros_like(lay)])
    ctx, bias, pooled = model.text(toks)
    for i in range(steps):
        t = 1.0 - i / steps
        dt = 1.0 / steps
        tt = torch.full((2 * n,), t, device=device)
        v = model.velocity(torch.cat([x, x]), tt, ctx, bias, pooled, lay)
        vc, vu = v[:n], v[n:]
        x = x - dt * (vu + guidance * (vc - vu))
    img = ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    return img


def save_sheet(model, path, device):
    """Top row: the model's pictures for 8 training scenes (prompt + true layout);
    bottom row: the world's own drawings of the same scenes."""
    from PIL import Image
    rng = random.Random(99)
    scenes = [gen_data.sample(rng) for _ in range(8)]
    imgs = sample(model, [p for p, _, _ in scenes], [gen_data.layout_map(s["objects"], s["pos"]) for _, s, _ in scenes],
                  device=device)
    sheet = Image.new("RGB", (64 * 8, 64 * 2))
    for i, a in enumerate(imgs):
        sheet.paste(Image.fromarray(a), (i * 64, 0))
        sheet.paste(scenes[i][2], (i * 64, 64))
    sheet.save(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=70)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--ckpt-minutes", type=float, default=10)
    ap.add_argument("--t-mean", type=float, default=0.4,
                    help="mean of the logit-normal time distribution (higher: more training at the noisy end)")
    ap.add_argument("--t-floor", type=float, default=0.05,
                    help="the velocity loss weight is 1/max(t, floor)^2: a higher floor weighs the noisy end, where the "
                         "background and layout are decided, more against the last details")
    ap.add_argument("--resume", action="store_true", help="continue from out/gen/ckpt.pt (the budget counts anew)")
    ap.add_argument("--out", default=OUT)
    args = ap.parse_args()

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu":
        torch.set_num_threads(1)  # one thread is several times faster than two on the 2-core machine
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)

    model = Generator(len(gen_data.VOCAB), layout_channels=gen_data.LAYOUT_CHANNELS).to(device)
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01, betas=(0.9, 0.99))
    step = 0
    minutes_before = 0.0  # training time of the run(s) resumed from, so a checkpoint says the total
    ckpt_path = os.path.join(args.out, "ckpt.pt")
    if args.resume and os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, map_location=device)
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        rng.setstate(ck["rng"])
        minutes_before = ck.get("minutes", 0.0)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"device={device} params={n_params} vocab={len(gen_data.VOCAB)} batch={args.batch}", flush=True)

    budget = args.minutes * 60
    t_start = time.time()
    last_ckpt = t_start
    warmup = 300
    losses = []
    trained_s = 0.0

    def save(tag):
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                    "rng": rng.getstate(), "vocab": gen_data.VOCAB, "minutes": minutes_before + (time.time() - t_start) / 60,
                    "device": device, "batch": args.batch, "seed": args.seed}, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
        save_sheet(ema, os.path.join(args.out, f"sheet-{tag}.png"), device)
        print(f"checkpoint step={step} tag={tag}", flush=True)

    while True:
        elapsed = time.time() - t_start
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = args.lr * min(1.0, (step + 1) / warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for gp in opt.param_groups:
            gp["lr"] = lr
        xs, toks, lays = gen_data.batch(rng, args.batch)
        x0 = torch.from_numpy(xs).to(device)
        tok = torch.from_numpy(toks).to(device)
        lay = torch.from_numpy(lays).to(device)
        # logit-normal t, a little towards noise (where the layout is decided)
        t = torch.sigmoid(torch.randn(args.batch, device=device) + args.t_mean)
        eps = torch.randn_like(x0)
        t4 = t[:, None, None, None]
        xt = (1 - t4) * x0 + t4 * eps
        x0_hat = model(xt, t, tok, lay)
        # x-prediction, loss on the velocity: ||v̂ − v||² = ||x0̂ − x0||² / t², t clipped at --t-floor
        loss = ((x0_hat - x0) / torch.clamp(t4, min=args.t_floor)).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"step {step} t={elapsed / 60:.1f}m lr={lr:.2e} loss={np.mean(losses[-50:]):.4f}", flush=True)
        if time.time() - last_ckpt >= args.ckpt_minutes * 60:
            save(f"{int((time.time() - t_start) / 60):03d}m")
            last_ckpt = time.time()
    save("final")
    print(f"done steps={step} minutes={(time.time() - t_start) / 60:.1f}", flush=True)


if __name__ == "__main__":
    main()
