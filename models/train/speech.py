"""The demo speech recogniser: a small CTC model over characters, trained on
speech that espeak-ng synthesises from the shape world's sentences, and
exported in the folder layout transformers.js loads for its
automatic-speech-recognition pipeline (model_type "wav2vec2": raw 16 kHz
samples in, per-frame character logits out):

    models/speech/shapes-asr/{config.json, preprocessor_config.json,
        tokenizer.json, tokenizer_config.json, vocab.json, onnx/model.onnx}

The graph takes the waveform itself: the log-mel features (25 ms Hann
windows every 10 ms, 80 mel bands to 8 kHz) are computed inside it with
fixed convolution kernels, so the app passes the decoded samples as they are.
The network is a stack of depthwise-separable 1-D convolutions (QuartzNet's
shape, much smaller), three frames per output step (33 per second).

It knows the words of the shape world (questions, descriptions, numbers,
small talk, common English words), spoken by espeak-ng's voices. It is a
demo, as the shipped vision model is: a real Whisper or wav2vec2 folder in
SPEECH_MODEL_DIR replaces it.

    python3 models/train/speech.py [--minutes 25] [--utterances 9000] [--seed 1]
    python3 models/train/speech.py --resume --seed 2 --lr 6e-4   # a second phase on fresh utterances
    python3 models/train/speech.py --eval      # CER/WER of the last checkpoint
"""
import argparse
import io
import json
import math
import os
import random
import re
import subprocess
import sys
import time
import wave
from multiprocessing import Pool

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import world  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "speech", "shapes-asr")
WORK = os.path.join(HERE, "out", "speech")

SAMPLE_RATE = 16_000
N_FFT = 400
HOP = 160
N_MELS = 80
STRIDE = 3

# wav2vec2's vocabulary layout: <pad> is also CTC's blank, "|" separates words.
VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|", "'"] + [chr(c) for c in range(ord("a"), ord("z") + 1)]
TOKEN = {t: i for i, t in enumerate(VOCAB)}

# Voices: espeak-ng's English voices with its variants. Some are held out for evaluation.
LANGS = ["en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd"]
VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2",
            "klatt4", "adam", "anika", "Alex", "Andy", "boris", "croak", "david", "ed", "john", "linda", "max",
            "michel", "norbert", "paul", "pablo", "quincy", "robert", "steph", "travis", "victor", "zac"]
HELDOUT_VOICES = {("en-us", "m4"), ("en-gb", "f3"), ("en-gb-x-rp", "klatt"), ("en-029", "ed"), ("en-us", "linda")}

_NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
            "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_SIDES = ["left", "right", "top", "bottom", "middle", "centre", "corner"]
_SIZES = ["small", "big", "large", "tiny", "huge"]


def normalise(text: str) -> str:
    """What the model writes: lower case a–z, apostrophes and single spaces (digits as words)."""
    text = text.lower().replace("colour", "color")
    text = re.sub(r"\d+", lambda m: f" {_NUMBERS[int(m.group(0))]} " if int(m.group(0)) <= 20 else " ", text)
    text = re.sub(r"[^a-z' ]+", " ", text)
    return re.sub(r" +", " ", text).strip()


def _fill(template: str, rng: random.Random) -> str:
    return template.format(s=rng.choice(world.SHAPES), c=rng.choice(world.COLOUR_NAMES))


def sentence(rng: random.Random, heldout: bool = False) -> str:
    """One sentence of the shape world's kinds; `heldout` draws wordings training never saw."""
    if heldout:
        pool = [w for ws in world.HELDOUT_WORDINGS.values() for w in ws] + world.HELDOUT_OFF_WORLD
        return normalise(_fill(rng.choice(pool), rng))
    r = rng.random()
    if r < 0.30:
        pool = [w for ws in list(world.CANONICAL.values()) + list(world.PARAPHRASES.values()) for w in ws]
        return normalise(_fill(rng.choice(pool), rng))
    if r < 0.50:
        parts = []
        for _ in range(rng.randint(1, 3)):
            n = rng.randint(1, 3)
            words = [rng.choice(["a", "one"]) if n == 1 else _NUMBERS[n]]
            if rng.random() < 0.3:
                words.append(rng.choice(_SIZES))
            words += [rng.choice(world.COLOUR_NAMES), rng.choice(world.SHAPES) + ("s" if n > 1 else "")]
            if rng.random() < 0.5:
                words += ["on", "the", rng.choice(_SIDES)]
            parts.append(" ".join(words))
        return normalise(" and ".join(parts))
    if r < 0.62:
        return normalise(" ".join(rng.choice(_NUMBERS) for _ in range(rng.randint(1, 5))))
    if r < 0.72:
        return normalise(rng.choice([t for t, _ in world.SMALL_TALK] + world.OFF_WORLD))
    return normalise(" ".join(rng.choice(world._FILLER + world.COLOUR_NAMES + world.SHAPES) for _ in range(rng.randint(2, 8))))


def voice(rng: random.Random, heldout: bool = False) -> tuple[str, str]:
    if heldout:
        return rng.choice(sorted(HELDOUT_VOICES))
    while True:
        v = (rng.choice(LANGS), rng.choice(VARIANTS))
        if v not in HELDOUT_VOICES:
            return v


def resample(x: np.ndarray, rate: int) -> np.ndarray:
    """Band-limited resampling through the FFT (espeak-ng speaks at 22 050 Hz)."""
    if rate == SAMPLE_RATE:
        return x
    n_out = int(round(len(x) * SAMPLE_RATE / rate))
    spec = np.fft.rfft(x)
    keep = n_out // 2 + 1
    spec = spec[:keep] if len(spec) >= keep else np.pad(spec, (0, keep - len(spec)))
    return (np.fft.irfft(spec, n_out) * (n_out / len(x))).astype(np.float32)


def synthesise(text: str, lang: str, variant: str, speed: int, pitch: int) -> np.ndarray:
    v = f"{lang}+{variant}" if variant else lang
    wav = subprocess.run(["espeak-ng", "-v", v, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                         check=True, capture_output=True).stdout
    with wave.open(io.BytesIO(wav)) as w:
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    return resample(pcm, rate)


def augment(x: np.ndarray, rng: random.Random) -> np.ndarray:
    """Silence before and after, a gain, and noise at 10–45 dB SNR (white or brown)."""
    lead, tail = (np.zeros(rng.randint(0, SAMPLE_RATE // 2), np.float32) for _ in range(2))
    x = np.concatenate([lead, x, tail]) * rng.uniform(0.1, 1.0)
    power = float(np.mean(x**2)) + 1e-9
    snr = rng.uniform(10, 45)
    nrng = np.random.default_rng(rng.randrange(1 << 30))
    noise = nrng.standard_normal(len(x)).astype(np.float32)
    if rng.random() < 0.4:
        noise = np.cumsum(noise)
        noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
    noise *= math.sqrt(power / (10 ** (snr / 10)) / (float(np.mean(noise**2)) + 1e-9))
    return (x + noise).astype(np.float32)


def normalise_wave(x: torch.Tensor) -> torch.Tensor:
    """transformers.js's Wav2Vec2FeatureExtractor with do_normalize: zero mean, unit variance."""
    return (x - x.mean()) / torch.sqrt(x.var(unbiased=False) + 1e-7)


def non_speech(rng: random.Random) -> np.ndarray:
    """Tones, beeps, chirps, chords and noise (transcribed as nothing): what else people upload."""
    n = int(SAMPLE_RATE * rng.uniform(0.5, 4))
    t = np.arange(n) / SAMPLE_RATE
    kind = rng.choice(["tone", "beeps", "chirp", "chord", "noise"])
    if kind == "noise":
        return np.random.default_rng(rng.randrange(1 << 30)).standard_normal(n).astype(np.float32) * 0.1
    if kind == "chirp":
        f0, f1 = rng.uniform(100, 4000), rng.uniform(100, 4000)
        return (0.3 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) * t**2 / (2 * t[-1])))).astype(np.float32)
    freqs = [rng.uniform(80, 4000) for _ in range(3 if kind == "chord" else 1)]
    x = sum(np.sin(2 * np.pi * f * t) for f in freqs) * 0.3 / len(freqs)
    if kind == "beeps":
        period = rng.uniform(0.2, 1.0)
        x = x * ((t % period) < period * rng.uniform(0.2, 0.7))
    return x.astype(np.float32)


def _utterance(args):
    seed, heldout = args
    rng = random.Random(seed)
    if not heldout and rng.random() < 0.08:
        return "", augment(non_speech(rng), rng)
    text = sentence(rng, heldout)
    lang, variant = voice(rng, heldout)
    pcm = augment(synthesise(text, lang, variant, rng.randint(120, 220), rng.randint(20, 80)), rng)
    return text, pcm


def mel_filters() -> np.ndarray:
    """Triangular mel filters (HTK's mel scale, peak 1, no area normalisation), [N_MELS][N_FFT // 2 + 1], 0–8 kHz."""
    def hz_to_mel(f):
        return 2595 * np.log10(1 + f / 700)

    def mel_to_hz(m):
        return 700 * (10 ** (m / 2595) - 1)

    freqs = np.linspace(0, SAMPLE_RATE / 2, N_FFT // 2 + 1)
    points = mel_to_hz(np.linspace(hz_to_mel(0), hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    fb = np.zeros((N_MELS, len(freqs)), np.float32)
    for m in range(N_MELS):
        lo, mid, hi = points[m], points[m + 1], points[m + 2]
        fb[m] = np.maximum(0, np.minimum((freqs - lo) / (mid - lo), (hi - freqs) / (hi - mid)))
    return fb


class Features(nn.Module):
    """Waveform [B, N] → log-mel [B, N_MELS, N // HOP + 1], with fixed kernels (exports as two convolutions)."""

    def __init__(self):
        super().__init__()
        n = torch.arange(N_FFT, dtype=torch.float64)
        window = 0.5 - 0.5 * torch.cos(2 * math.pi * n / N_FFT)
        k = torch.arange(N_FFT // 2 + 1, dtype=torch.float64).unsqueeze(1)
        angle = 2 * math.pi * k * n / N_FFT
        self.register_buffer("dft", torch.cat([torch.cos(angle) * window, -torch.sin(angle) * window]).float().unsqueeze(1))
        self.register_buffer("mel", torch.from_numpy(mel_filters()))

    def forward(self, wav):
        x = F.pad(wav.unsqueeze(1), (N_FFT // 2, N_FFT // 2))
        spec = F.conv1d(x, self.dft, stride=HOP)
        half = N_FFT // 2 + 1
        power = spec[:, :half] ** 2 + spec[:, half:] ** 2
        return torch.log(torch.matmul(self.mel, power) + 1e-6)


class ChannelNorm(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.norm = nn.LayerNorm(ch)

    def forward(self, x):
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class Block(nn.Module):
    def __init__(self, ch, kernel):
        super().__init__()
        self.dw = nn.Conv1d(ch, ch, kernel, padding=kernel // 2, groups=ch)
        self.pw = nn.Conv1d(ch, ch, 1)
        self.norm = ChannelNorm(ch)
        self.drop = nn.Dropout(0.1)

    def forward(self, x):
        # Pre-norm residual: the sum stays unnormalised, each branch reads a normalised copy.
        return x + self.drop(self.pw(F.gelu(self.dw(self.norm(x)))))


class SpeechCTC(nn.Module):
    def __init__(self, ch=192, blocks=10, kernel=15):
        super().__init__()
        self.features = Features()
        self.front = nn.Sequential(nn.Conv1d(N_MELS, ch, 7, stride=STRIDE, padding=3), nn.GELU(), ChannelNorm(ch))
        self.blocks = nn.Sequential(*[Block(ch, kernel) for _ in range(blocks)])
        self.head = nn.Sequential(ChannelNorm(ch), nn.Conv1d(ch, len(VOCAB), 1))

    def from_features(self, mel):
        """log-mel [B, N_MELS, T] → logits [B, T', V]. The log-mel is scaled to about unit range first."""
        return self.head(self.blocks(self.front((mel + 4) / 4))).transpose(1, 2)

    def forward(self, input_values):
        return self.from_features(self.features(input_values))


def out_frames(samples: int) -> int:
    t = samples // HOP + 1
    return (t - 1) // STRIDE + 1


def encode(text: str) -> list[int]:
    return [TOKEN.get(c, TOKEN["<unk>"]) if c != " " else TOKEN["|"] for c in text]


def greedy(logits: torch.Tensor) -> str:
    ids = logits.argmax(-1).tolist()
    out, prev = [], None
    for i in ids:
        if i != prev and i >= 4:
            out.append(" " if VOCAB[i] == "|" else VOCAB[i])
        prev = i
    return re.sub(r" +", " ", "".join(out)).strip()


def edit_distance(a, b) -> int:
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (x != y))
    return row[-1]


def dataset(n: int, seed: int, heldout: bool, features: Features):
    path = os.path.join(WORK, f"data-{n}-{seed}-{int(heldout)}.pt")
    if os.path.exists(path):
        return torch.load(path)
    os.makedirs(WORK, exist_ok=True)
    t0 = time.time()
    with Pool(2) as pool:
        items = pool.map(_utterance, [(seed * 1_000_003 + i, heldout) for i in range(n)], chunksize=64)
    data = []
    with torch.no_grad():
        for text, pcm in items:
            wav = normalise_wave(torch.from_numpy(pcm))
            data.append((text, features(wav.unsqueeze(0))[0].half(), len(pcm)))
    torch.save(data, path)
    print(f"[speech] {n} utterances synthesised in {time.time() - t0:.0f} s", flush=True)
    return data


def batches(data, size, rng):
    order = sorted(range(len(data)), key=lambda i: data[i][1].shape[1] + rng.random() * 40)
    groups = [order[i : i + size] for i in range(0, len(order), size)]
    rng.shuffle(groups)
    for g in groups:
        T = max(data[i][1].shape[1] for i in g)
        mel = torch.full((len(g), N_MELS, T), math.log(1e-6))
        for k, i in enumerate(g):
            m = data[i][1].float()
            mel[k, :, : m.shape[1]] = m
        targets = [torch.tensor(encode(data[i][0])) for i in g]
        yield mel, [out_frames(data[i][2]) for i in g], targets


def evaluate(model, data) -> tuple[float, float, list]:
    model.eval()
    chars = words = chars_n = words_n = 0
    examples = []
    with torch.no_grad():
        for text, mel, n in data:
            got = greedy(model.from_features(mel.float().unsqueeze(0))[0, : out_frames(n)])
            chars += edit_distance(got, text)
            chars_n += len(text)
            words += edit_distance(got.split(), text.split())
            words_n += len(text.split())
            if len(examples) < 6:
                examples.append((text, got))
    model.train()
    return chars / chars_n, words / words_n, examples


def export(model, out=OUT):
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    model.eval()
    dummy = torch.randn(1, SAMPLE_RATE)
    torch.onnx.export(model, (dummy,), os.path.join(out, "onnx", "model.onnx"), input_names=["input_values"],
                      output_names=["logits"], dynamic_axes={"input_values": {0: "batch", 1: "samples"}, "logits": {0: "batch", 1: "frames"}},
                      opset_version=14)
    vocab = {t: i for i, t in enumerate(VOCAB)}
    files = {
        "config.json": {
            "model_type": "wav2vec2", "architectures": ["Wav2Vec2ForCTC"], "vocab_size": len(VOCAB), "pad_token_id": 0,
            "bos_token_id": 1, "eos_token_id": 2, "ctc_loss_reduction": "mean",
            "_note": "Not a wav2vec2 network: a small CTC convolution stack with its own log-mel front end, in wav2vec2's input and output layout (models/train/speech.py).",
        },
        "preprocessor_config.json": {"feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1, "sampling_rate": SAMPLE_RATE,
                                     "padding_value": 0.0, "do_normalize": True, "return_attention_mask": False},
        "vocab.json": vocab,
        "tokenizer_config.json": {"tokenizer_class": "Wav2Vec2CTCTokenizer", "pad_token": "<pad>", "bos_token": "<s>", "eos_token": "</s>",
                                  "unk_token": "<unk>", "word_delimiter_token": "|", "do_lower_case": False, "clean_up_tokenization_spaces": True},
        "tokenizer.json": {
            "version": "1.0", "truncation": None, "padding": None,
            # <pad> is CTC's blank: not "special", or a decoder that drops special tokens before
            # merging repeats would merge the two l's of "yellow" (the CTC decoder drops it itself).
            "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": t != "<pad>"}
                             for i, t in enumerate(VOCAB[:4])],
            "normalizer": None, "pre_tokenizer": None, "post_processor": None,
            "decoder": {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": True},
            "model": {"vocab": vocab},
        },
    }
    for name, body in files.items():
        with open(os.path.join(out, name), "w") as f:
            json.dump(body, f, indent=1)
            f.write("\n")
    print(f"[speech] exported to {os.path.normpath(out)} ({os.path.getsize(os.path.join(out, 'onnx', 'model.onnx')) / 1e6:.2f} MB)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=20)
    ap.add_argument("--utterances", type=int, default=9000)
    ap.add_argument("--batch", type=int, default=24)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--eval", action="store_true", help="evaluate the checkpoint only")
    ap.add_argument("--export", action="store_true", help="export the last checkpoint only")
    ap.add_argument("--resume", action="store_true", help="start from the last checkpoint (a later phase: pass a new --seed for fresh utterances)")
    args = ap.parse_args()
    # Debian's PyTorch 1.13 returns garbage (up to inf) for the strided front convolution's weight
    # gradient through oneDNN on this CPU; the native kernels agree with each other.
    torch.backends.mkldnn.enabled = False
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = SpeechCTC()
    ckpt = os.path.join(WORK, "ckpt.pt")
    # The same held-out sets in every phase, whatever --seed says.
    test_seen = dataset(300, 101, False, model.features)
    test_held = dataset(300, 201, True, model.features)
    if args.export:
        model.load_state_dict(torch.load(ckpt))
        export(model)
        return
    if args.eval:
        model.load_state_dict(torch.load(ckpt))
        report(model, test_seen, test_held)
        return
    if args.resume:
        model.load_state_dict(torch.load(ckpt))
    train = dataset(args.utterances, args.seed, False, model.features)
    params = sum(p.numel() for p in model.parameters())
    print(f"[speech] {params} parameters, {len(train)} utterances", flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    # Per utterance, divided by its length (at least 1: non-speech clips have empty targets).
    ctc = nn.CTCLoss(blank=0, reduction="none", zero_infinity=True)
    t0, step, deadline = time.time(), 0, time.time() + args.minutes * 60
    est_steps = None
    while time.time() < deadline:
        for mel, lengths, targets in batches(train, args.batch, rng):
            if time.time() >= deadline:
                break
            # SpecAugment-style masks: one time and one frequency band per utterance.
            for k in range(mel.shape[0]):
                f0 = rng.randrange(N_MELS - 10)
                mel[k, f0 : f0 + rng.randint(0, 10)] = mel[k].mean()
                t = rng.randrange(max(1, mel.shape[2] - 20))
                mel[k, :, t : t + rng.randint(0, 15)] = mel[k].mean()
            # The rate: a linear warm-up, then cosine to 5 % at the deadline.
            frac = (time.time() - t0) / (args.minutes * 60)
            lr = args.lr * (1 if args.resume else min(1, (step + 1) / 300)) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1, frac))))
            for g in opt.param_groups:
                g["lr"] = lr
            logits = model.from_features(mel)
            logp = logits.log_softmax(-1).transpose(0, 1)
            target_lengths = torch.tensor([len(t) for t in targets])
            loss = (ctc(logp, torch.cat(targets), torch.tensor(lengths), target_lengths) / target_lengths.clamp(min=1)).mean()
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
            if step % 200 == 0:
                cer, wer, ex = evaluate(model, test_seen[:100])
                print(f"[speech] step {step} {time.time() - t0:.0f}s loss={loss.item():.3f} lr={lr:.2e} cer={cer:.3f} wer={wer:.3f} {ex[0]}", flush=True)
                torch.save(model.state_dict(), ckpt)
    torch.save(model.state_dict(), ckpt)
    report(model, test_seen, test_held, f" steps={step} minutes={(time.time() - t0) / 60:.1f}")
    export(model)


def report(model, test_seen, test_held, extra=""):
    for name, d in (("seen wordings, held-out draws", test_seen), ("held-out wordings and voices", test_held)):
        cer, wer, ex = evaluate(model, d)
        print(f"SPEECH {name}: cer={cer:.3f} wer={wer:.3f}{extra} e.g. {ex[:2]}", flush=True)
    rng = random.Random(7)
    quiet = 0
    model.eval()
    with torch.no_grad():
        for _ in range(100):
            x = torch.from_numpy(augment(non_speech(rng), rng))
            quiet += greedy(model(normalise_wave(x).unsqueeze(0))[0]) == ""
    print(f"SPEECH non-speech clips transcribed as nothing: {quiet}/100", flush=True)
    # The shape world's own questions and descriptions (what the demo is for), by voice and wording.
    for name, heldout_voice, heldout_wording in (("world sentences, training voices", False, False),
                                                  ("world sentences, held-out voices", True, False),
                                                  ("held-out wordings, training voices", False, True)):
        rng = random.Random(11)
        items = []
        for _ in range(120):
            if heldout_wording:
                text = sentence(rng, heldout=True)
            else:
                while True:
                    text = sentence(rng)
                    if text and any(w in text.split() for w in world.SHAPES + [s + "s" for s in world.SHAPES] + ["shapes", "shape"]):
                        break
            lang, variant = voice(rng, heldout_voice)
            pcm = augment(synthesise(text, lang, variant, rng.randint(120, 220), rng.randint(20, 80)), rng)
            items.append((text, model.features(normalise_wave(torch.from_numpy(pcm)).unsqueeze(0))[0], len(pcm)))
        cer, wer, _ = evaluate(model, items)
        exact = sum(greedy(model.from_features(m.unsqueeze(0))[0, : out_frames(n)]) == t for t, m, n in items)
        print(f"SPEECH {name}: cer={cer:.3f} wer={wer:.3f} exact={exact}/{len(items)}", flush=True)


if __name__ == "__main__":
    main()
