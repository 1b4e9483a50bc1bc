"""Tests of the speech recogniser's pieces (speech.py): run by `npm test`'s
python step when /usr/bin/python3 has PyTorch.

    /usr/bin/python3 -m unittest models/train/test_speech.py
"""
import os
import random
import shutil
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import speech  # noqa: E402


class TestSpeech(unittest.TestCase):
    def test_output_length_formula_matches_the_network(self):
        model = speech.SpeechCTC(ch=16, blocks=1).eval()
        for n in (1, 159, 160, 161, 480, 16_000, 16_321):
            with torch.no_grad():
                frames = model(torch.randn(1, n)).shape[1]
            self.assertEqual(frames, speech.out_frames(n), n)

    def test_features_are_a_log_mel_of_the_power_spectrum(self):
        # A 1 kHz tone: the loudest band is the one whose filter peaks nearest 1 kHz, in every frame.
        t = torch.arange(16_000) / speech.SAMPLE_RATE
        mel = speech.Features()(torch.sin(2 * torch.pi * 1000 * t).unsqueeze(0))[0]
        self.assertEqual(mel.shape, (speech.N_MELS, 16_000 // speech.HOP + 1))
        peaks = speech.mel_filters().argmax(1) * speech.SAMPLE_RATE / speech.N_FFT
        expected = int(np.argmin(np.abs(peaks - 1000)))
        self.assertTrue(all(int(b) in (expected - 1, expected, expected + 1) for b in mel[:, 5:-5].argmax(0)))

    def test_encode_and_greedy_decode_round_trip(self):
        text = "is there a red circle"
        ids = speech.encode(text)
        # As CTC emits: each character twice, blanks between, a blank between the two l's of a double letter.
        frames = []
        for i in ids:
            frames += [i, i, 0]
        logits = torch.full((len(frames), len(speech.VOCAB)), -10.0)
        logits[torch.arange(len(frames)), torch.tensor(frames)] = 10.0
        self.assertEqual(speech.greedy(logits), text)

    def test_normalise_writes_what_the_model_can_spell(self):
        self.assertEqual(speech.normalise("What colour is the 2nd circle?"), "what color is the two nd circle")
        self.assertEqual(speech.normalise("Hello!  It's 21"), "hello it's")

    def test_resample_keeps_a_tone_and_the_length(self):
        x = np.sin(2 * np.pi * 440 * np.arange(22_050) / 22_050).astype(np.float32)
        y = speech.resample(x, 22_050)
        self.assertEqual(len(y), 16_000)
        spectrum = np.abs(np.fft.rfft(y))
        self.assertAlmostEqual(int(np.argmax(spectrum)), 440, delta=1)

    def test_sentences_have_text_and_non_speech_is_finite_audio(self):
        rng = random.Random(3)
        for _ in range(20):
            self.assertTrue(speech.sentence(rng))
            self.assertTrue(np.all(np.isfinite(speech.non_speech(rng))))

    def test_export_writes_the_folder_transformers_js_loads(self):
        import json
        import tempfile
        import warnings

        with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            speech.export(speech.SpeechCTC(ch=16, blocks=1), tmp)
            files = sorted(os.listdir(tmp))
            self.assertEqual(files, ["config.json", "onnx", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json"])
            self.assertTrue(os.path.getsize(os.path.join(tmp, "onnx", "model.onnx")) > 0)
            with open(os.path.join(tmp, "tokenizer.json")) as f:
                tok = json.load(f)
            # The blank must not be "special": decoders drop special tokens before merging repeats.
            self.assertEqual({t["content"]: t["special"] for t in tok["added_tokens"]}, {"<pad>": False, "<s>": True, "</s>": True, "<unk>": True})
            self.assertEqual(tok["decoder"], {"type": "CTC", "pad_token": "<pad>", "word_delimiter_token": "|", "cleanup": True})
            with open(os.path.join(tmp, "config.json")) as f:
                self.assertEqual(json.load(f)["model_type"], "wav2vec2")

    @unittest.skipIf(shutil.which("espeak-ng") is None, "espeak-ng is not installed (apt install espeak-ng)")
    def test_synthesis_is_16_khz_speech(self):
        pcm = speech.synthesise("red circle", "en-us", "", 160, 50)
        self.assertEqual(pcm.dtype, np.float32)
        self.assertGreater(len(pcm), speech.SAMPLE_RATE * 0.4)
        self.assertLess(len(pcm), speech.SAMPLE_RATE * 3)
        self.assertGreater(float(np.abs(pcm).max()), 0.05)


if __name__ == "__main__":
    unittest.main()
