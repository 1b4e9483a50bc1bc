"""Tests of the training code's pieces (run by `npm test` when /usr/bin/python3
has PyTorch; `python3 -m unittest discover -s models/train -p 'test_*.py'`).

- the faster attention of model.py (scale and causal mask folded into one
  baddbmm, in chunks) against plain softmax attention, for the language
  model and the vision tower, across several chunks;
- LoRA: the adapted layer starts as the base (B = 0), merging gives the
  adapted forward, only A and B train, the adapter read back from the GGUF
  layout equals the trained one;
- the chart questions agree with their table, and the tables are what the
  app charts (a text or date column and a number column);
- conversations are tokenised exactly as the app's chat template renders them.
"""
import math
import os
import random
import re
import sys
import unittest

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import skills  # noqa: E402
import train  # noqa: E402
import world  # noqa: E402
from model import BOS, EOS, LlamaBlock, MiniLlava, ViTBlock, decode_ids, encode_text, rope  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
torch.set_num_threads(1)


def small_model(seed=0):
    torch.manual_seed(seed)
    m = MiniLlava(vision=dict(d=32, n_layer=1, n_head=2, d_ff=64, llm_d=48, proj_hidden=48),
                  llm=dict(d=48, n_layer=2, n_head=4, d_ff=96))
    with torch.no_grad():  # the norms' weights away from 1, so nothing is trivially symmetric
        for n, p in m.named_parameters():
            if n.endswith("norm.weight"):
                p.uniform_(0.5, 1.5)
    return m.eval()


class FasterAttention(unittest.TestCase):
    def test_llama_block_matches_plain_attention(self):
        torch.manual_seed(1)
        d, n_head, T, B = 48, 4, 600, 3  # 12 heads of 600² scores, 5 per chunk: several chunks of the baddbmm path
        block = LlamaBlock(d, n_head, 96).eval()
        x = torch.randn(B, T, d)
        pos = torch.arange(T)
        mask = torch.full((T, T), float("-inf")).triu(1)
        with torch.no_grad():
            fast = block(x, pos, mask)
            hd = d // n_head
            h = block.attn_norm(x)
            q = rope(block.q(h).view(B, T, n_head, hd).transpose(1, 2), pos)
            k = rope(block.k(h).view(B, T, n_head, hd).transpose(1, 2), pos)
            v = block.v(h).view(B, T, n_head, hd).transpose(1, 2)
            scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            scores = scores.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            a = torch.softmax(scores, -1) @ v
            plain = x + block.o(a.transpose(1, 2).reshape(B, T, d))
            hh = block.ffn_norm(plain)
            plain = plain + block.down(F.silu(block.gate(hh)) * block.up(hh))
        self.assertGreater(B * n_head, max(1, (1 << 21) // (T * T)), "the test must span more than one chunk")
        self.assertLess((fast - plain).abs().max().item(), 1e-5)

    def test_vit_block_matches_plain_attention(self):
        torch.manual_seed(2)
        block = ViTBlock(32, 4, 64).eval()
        x = torch.randn(2, 64, 32)
        with torch.no_grad():
            fast = block(x)
            B, T, D = x.shape
            hd = D // 4
            h = block.ln1(x)
            q, k, v = (getattr(block, n)(h).view(B, T, 4, hd).transpose(1, 2) for n in "qkv")
            a = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(hd), -1) @ v
            plain = x + block.o(a.transpose(1, 2).reshape(B, T, D))
            plain = plain + block.down(F.gelu(block.up(block.ln2(plain)), approximate="tanh"))
        self.assertLess((fast - plain).abs().max().item(), 1e-5)

    def test_causal(self):
        """A later token never changes an earlier position's output (what batched_greedy relies on)."""
        m = small_model()
        ids = torch.randint(3, 300, (1, 40))
        with torch.no_grad():
            a = m.llm(m.llm.embed(ids))
            ids2 = ids.clone()
            ids2[0, 30:] = 5
            b = m.llm(m.llm.embed(ids2))
        self.assertLess((a[0, :30] - b[0, :30]).abs().max().item(), 1e-5)


class Lora(unittest.TestCase):
    def inputs(self):
        torch.manual_seed(3)
        ids = torch.randint(3, 300, (2, 30))
        slots = torch.zeros(2, 30, dtype=torch.bool)
        slots[:, 2:6] = True  # 4 image tokens = one 16 px image of 8 px patches (2 images → 8 slots)
        pix = torch.randn(2, 3, 16, 16)
        return ids, pix, slots

    def test_starts_as_the_base(self):
        m = small_model()
        m.vision = MiniLlava(vision=dict(image_size=16, d=32, n_layer=1, n_head=2, d_ff=64, llm_d=48, proj_hidden=48)).vision.eval()
        ids, pix, slots = self.inputs()
        with torch.no_grad():
            before = m(ids, pix, slots)
            adapted = skills.add_lora(m, rank=4, alpha=8)
            after = m(ids, pix, slots)
        self.assertEqual(len(adapted), 2 * 7)
        self.assertTrue(all(float(a.b.abs().max()) == 0 for a in adapted.values()))
        self.assertTrue(torch.equal(before, after))

    def test_only_a_and_b_train_and_merge_is_exact(self):
        m = small_model()
        m.vision = MiniLlava(vision=dict(image_size=16, d=32, n_layer=1, n_head=2, d_ff=64, llm_d=48, proj_hidden=48)).vision.eval()
        ids, pix, slots = self.inputs()
        adapted = skills.add_lora(m, rank=4, alpha=8)
        trainable = {n for n, p in m.named_parameters() if p.requires_grad}
        self.assertTrue(trainable and all(n.endswith(".a") or n.endswith(".b") for n in trainable))
        self.assertEqual(sum(p.numel() for n, p in m.named_parameters() if p.requires_grad),
                         sum(4 * (a.base.in_features + a.base.out_features) for a in adapted.values()))
        with torch.no_grad():
            for a in adapted.values():
                a.b.normal_(0, 0.3)
            out = m(ids, pix, slots)
            names = {name: (a.a.clone(), a.b.clone()) for name, a in adapted.items()}
            skills.merge_lora(m)
            merged = m(ids, pix, slots)
        self.assertFalse(any(isinstance(mod, skills.LoRALinear) for mod in m.modules()))
        self.assertLess((out - merged).abs().max().item(), 1e-4)
        # ΔW = (alpha / r) · B · A, as llama.cpp applies it (scale 1).
        w = dict(m.llm.blocks[0].named_modules())["q"].weight
        base = small_model().llm.blocks[0].q.weight
        a, b = names["blk.0.attn_q.weight"]
        self.assertLess((w - (base + 2.0 * b @ a)).abs().max().item(), 1e-5)

    def test_save_and_load_round_trip(self):
        import tempfile

        m = small_model()
        adapted = skills.add_lora(m, rank=4, alpha=8)
        with torch.no_grad():
            for a in adapted.values():
                a.b.normal_(0, 0.3)
        with tempfile.TemporaryDirectory() as d:
            skills.save_lora(adapted, d, 4, 8.0)
            m2 = small_model()
            back = skills.load_lora(m2, d)
        for name in adapted:
            self.assertTrue(torch.equal(adapted[name].a, back[name].a))
            self.assertTrue(torch.equal(adapted[name].b, back[name].b))


class Charts(unittest.TestCase):
    def test_answers_agree_with_the_table(self):
        rng = random.Random(11)
        for _ in range(400):
            t = world.random_chart_table(rng)
            vals = [v for _, v in t["rows"]]
            if t["mark"] == "bar":
                self.assertIn(t["x"], world.BAR_CATEGORY_COLUMNS)
                self.assertTrue(2 <= len(vals) <= 5 and all(1 <= v <= 9 for v in vals))
                self.assertEqual(vals.count(max(vals)), 1, "one tallest bar")
                self.assertEqual(len({c for c, _ in t["rows"]}), len(vals), "categories are unique (one bar each)")
                k, q, a = world.chart_question(rng, t, kind="tallest")
                self.assertEqual(a, f"The tallest bar is {max(t['rows'], key=lambda r: r[1])[0]}.")
                k, q, a = world.chart_question(rng, t, kind="n_bars")
                self.assertEqual(a, f"There are {len(vals)} bars.")
                k, q, a = world.chart_question(rng, t, kind="value")
                m = re.fullmatch(r"The value of (\w+) is (\d+)\.", a)
                self.assertIsNotNone(m)
                self.assertEqual(dict(t["rows"])[m.group(1)], int(m.group(2)))
                self.assertIn(m.group(1), q.lower())
                with self.assertRaises(ValueError):
                    world.chart_question(rng, t, kind="trend")
            else:
                self.assertIn(t["x"], world.LINE_DATE_COLUMNS)
                self.assertTrue(re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", t["rows"][0][0]))
                self.assertGreaterEqual(abs(vals[-1] - vals[0]), 6)
                up = vals[-1] > vals[0]
                for style in ("canonical", "paraphrase", "heldout", "any"):
                    k, q, a = world.chart_question(rng, t, style=style)
                    self.assertEqual(k, "trend")
                    asks_down = any(w in q.lower() for w in ("down", "falling", "decreasing"))
                    self.assertEqual(a, {(False, True): "Yes, the line goes up.", (False, False): "No, the line goes down.",
                                         (True, False): "Yes, the line goes down.", (True, True): "No, the line goes up."}[(asks_down, up)])

    def test_csv_is_what_the_app_parses(self):
        rng = random.Random(12)
        t = world.random_chart_table(rng, mark="bar")
        lines = world.chart_csv(t).splitlines()
        self.assertEqual(lines[0], f"{t['x']},{t['y']}")
        self.assertEqual(len(lines), len(t["rows"]) + 1)

    def test_wordings_kept_apart(self):
        for k in world.CHART_KINDS:
            train_wordings = set(world.CHART_CANONICAL[k]) | set(world.CHART_PARAPHRASES[k])
            self.assertFalse(train_wordings & set(world.CHART_HELDOUT[k]), k)

    def test_second_renderer_draws(self):
        rng = random.Random(13)
        for mark in ("bar", "line"):
            img = world.render_chart_pil(rng, world.random_chart_table(rng, mark=mark))
            self.assertEqual(img.mode, "RGB")
            self.assertGreater(len(set(img.resize((64, 64)).getdata())), 3)


class PromptFormat(unittest.TestCase):
    SUMMARY = ("Table (CSV): 3 rows × 2 columns.\nColumns: shape (text), count (number).\nFirst rows:\nshape | count\n"
               "circle | 3\nsquare | 7\ntriangle | 2\nChart: bar chart of count by shape.")

    def test_template_is_the_one_training_assumes(self):
        """lib/gguf/chat-template.ts still renders `USER: content\\nASSISTANT: answer</s>\\n`."""
        with open(os.path.join(ROOT, "lib", "gguf", "chat-template.ts")) as f:
            src = f.read()
        self.assertIn("USER: {{ message['content'] }}{{ '\\\\n' }}", src)
        self.assertIn("ASSISTANT: {{ message['content'] }}</s>{{ '\\\\n' }}", src)
        self.assertIn("{{ 'ASSISTANT: ' }}", src)
        # The media text (lib/media/prompt-parts.ts) for a table with one chart.
        with open(os.path.join(ROOT, "lib", "media", "prompt-parts.ts")) as f:
            parts = f.read()
        self.assertIn("text: `[${info.summary}${derived.length ? `\\n${derived.length === 1 ? \"The image above is\"", parts)
        self.assertIn('the chart.` : ""}]`', parts)

    def test_chart_conversation_tokens(self):
        chart = {"summary": self.SUMMARY}
        text = skills.chart_turn_text(chart, "Which bar is tallest?")
        ids, slots, loss = train.conversation_ids([(1, text, "The tallest bar is square.")])
        n_img = train.N_IMG_TOKENS
        # BOS, "USER: ", the image's slots, then (as lib/engine/prompt.ts joins an image marker and the text) "\n" + text.
        self.assertEqual(ids[0], BOS)
        self.assertEqual(decode_ids(ids[1:7]), "USER: ")
        self.assertEqual(slots[7 : 7 + n_img], [True] * n_img)
        self.assertEqual(sum(slots), n_img)
        rest = ids[7 + n_img :]
        expected = "\n" + world.chart_prompt_text(self.SUMMARY) + "\nWhich bar is tallest?\nASSISTANT: The tallest bar is square."
        self.assertEqual(rest[: len(encode_text(expected))], encode_text(expected))
        self.assertEqual(rest[len(encode_text(expected)) :], [EOS] + encode_text("\n"))
        self.assertEqual(decode_ids([i for i, l in zip(ids, loss) if l and i != EOS]), "The tallest bar is square.")
        self.assertEqual(loss.count(True), len("The tallest bar is square.") + 1)
        # The prompt for an answer ends right after "ASSISTANT: ".
        p_ids, p_slots = train.prompt_ids([(1, text, "")])
        self.assertEqual(decode_ids(p_ids[-11:]), "ASSISTANT: ")
        self.assertEqual(p_ids, ids[: len(p_ids)])
        self.assertIn("×".encode(), bytes(i - 3 for i in ids if 3 <= i < 259))


if __name__ == "__main__":
    unittest.main()
