"""Tests of the generator recipe's pieces (gen_data.py, gen_model.py): the
layout map the UNet reads, the training batch's conditioning rows, and the
network's shapes. Run by `npm test` (the "python" step) where Debian's
PyTorch is installed:

    /usr/bin/python3 -m unittest discover -s models/train -p 'test_*.py'
"""
import os
import random
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_data  # noqa: E402
from gen_model import Generator  # noqa: E402


class LayoutMap(unittest.TestCase):
    def test_an_objects_box_is_painted_with_its_coverage_in_its_shape_and_colour_channels(self):
        objs = [{"shape": "triangle", "colour": "blue"}]
        x, y, r = 0.5, 0.25, 0.125  # box [0.375, 0.625] × [0.125, 0.375]: exactly 4 × 4 cells
        m = gen_data.layout_map(objs, [(x, y, r)])
        L = gen_data.LAYOUT
        self.assertEqual(m.shape, (gen_data.LAYOUT_CHANNELS, L, L))
        self.assertAlmostEqual(float(m[0].sum()), (2 * r * L) ** 2, places=4)
        shape_ch = 1 + gen_data.SHAPES.index("triangle")
        colour_ch = 1 + len(gen_data.SHAPES) + gen_data.COLOUR_NAMES.index("blue")
        np.testing.assert_array_equal(m[shape_ch], m[0])
        np.testing.assert_array_equal(m[colour_ch], m[0])
        others = [c for c in range(1, gen_data.LAYOUT_CHANNELS) if c not in (shape_ch, colour_ch)]
        self.assertEqual(float(m[others].sum()), 0.0)
        rows = np.nonzero(m[0].sum(1))[0]
        cols = np.nonzero(m[0].sum(0))[0]
        self.assertEqual((rows.min(), rows.max()), (2, 5))  # row is y
        self.assertEqual((cols.min(), cols.max()), (6, 9))

    def test_partial_cells_hold_the_share_covered(self):
        m = gen_data.layout_map([{"shape": "circle", "colour": "red"}], [(0.5, 0.5, 0.1)])
        vals = sorted(set(np.round(m[0][m[0] > 0], 4)))
        self.assertLess(vals[0], 1.0)
        self.assertEqual(vals[-1], 1.0)


class Batch(unittest.TestCase):
    def test_null_rows_have_neither_prompt_nor_layout_and_text_only_rows_no_layout(self):
        xs, toks, lays = gen_data.batch(random.Random(3), 64, p_uncond=0.25, p_text_only=0.25)
        null = np.all(toks == np.array(gen_data.NULL_TOKENS), axis=1)
        empty = lays.reshape(len(lays), -1).sum(1) == 0
        self.assertTrue(null.any())
        self.assertTrue(np.all(empty[null]))
        self.assertTrue((empty & ~null).any())  # text-only rows
        self.assertTrue((~empty).any())
        self.assertEqual(xs.shape, (64, 3, gen_data.SIZE, gen_data.SIZE))
        self.assertTrue(xs.min() >= -1.0 and xs.max() <= 1.0)


class Network(unittest.TestCase):
    def test_velocity_has_the_image_shape_and_the_layout_changes_it(self):
        torch.manual_seed(0)
        g = Generator(len(gen_data.VOCAB), layout_channels=gen_data.LAYOUT_CHANNELS).eval()
        # The residual and output convolutions start at zero; perturb them so the layout's path shows.
        with torch.no_grad():
            for p in g.parameters():
                p.add_(torch.randn_like(p) * 0.02)
        toks = torch.tensor([gen_data.tokenize("a red circle")])
        lay = torch.from_numpy(gen_data.layout_map([{"shape": "circle", "colour": "red"}], [(0.3, 0.3, 0.2)]))[None]
        x = torch.randn(1, 3, gen_data.SIZE, gen_data.SIZE)
        t = torch.tensor([0.7])
        with torch.no_grad():
            ctx, bias, pooled = g.text(toks)
            v1 = g.velocity(x, t, ctx, bias, pooled, lay)
            v0 = g.velocity(x, t, ctx, bias, pooled, torch.zeros_like(lay))
        self.assertEqual(tuple(v1.shape), (1, 3, gen_data.SIZE, gen_data.SIZE))
        self.assertGreater(float((v1 - v0).abs().max()), 1e-4)


if __name__ == "__main__":
    unittest.main()
