"""Tests of the shape world's backgrounds and of the CLIP trainer's images
(run by `npm test` when /usr/bin/python3 has PyTorch):

- the "light" style draws exactly what it drew before other styles existed
  (same random draws: the shipped models' data and the held-out set stay
  reproducible);
- "any" draws light, dark, coloured and textured canvases; "other" never a
  light one; a coloured canvas keeps clear of the scene's shape colours;
- patch labels follow the resize: llama.cpp's resize-and-pad, or CLIP's
  plain resize to a square;
- the CLIP trainer's images are 48 × 48 and labelled where the shapes are.
"""
import math
import os
import random
import sys
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import clip  # noqa: E402
import world  # noqa: E402


def corner_colour(img):
    return np.asarray(img.convert("RGB"))[1, 1].astype(int)


class Backgrounds(unittest.TestCase):
    def test_light_is_the_default_and_draws_the_same(self):
        for seed in range(20):
            a, b = random.Random(seed), random.Random(seed)
            scene_a, scene_b = world.random_scene(a), world.random_scene(b)
            self.assertEqual(scene_a, scene_b)
            img_a = np.asarray(world.render(a, scene_a))
            img_b = np.asarray(world.render(b, scene_b, "light"))
            self.assertTrue((img_a == img_b).all())
            self.assertEqual(a.random(), b.random())  # the same number of draws

    def test_light_canvases_are_light(self):
        rng = random.Random(3)
        for _ in range(200):
            self.assertGreaterEqual(min(np.asarray(world._background(rng, 8, 8)).reshape(-1, 3).min(0)), 150)

    def test_other_canvases_are_dark_coloured_or_textured(self):
        rng = random.Random(4)
        dark = coloured = 0
        for _ in range(300):
            px = np.asarray(world._background(rng, 32, 32, "other", [world.COLOURS["red"]])).reshape(-1, 3).astype(int)
            mean = px.mean(0)
            if mean.max() < 120:
                dark += 1
            elif mean.max() - mean.min() > 40:
                coloured += 1
            self.assertFalse((px == 255).all())  # never the plain white of the light kind
        self.assertGreater(dark, 60)
        self.assertGreater(coloured, 60)

    def test_any_mixes_light_and_other(self):
        rng = random.Random(5)
        light = sum(np.asarray(world._background(rng, 4, 4, "any")).min() >= 150 for _ in range(400))
        self.assertTrue(150 < light < 280, light)

    def test_a_coloured_canvas_keeps_clear_of_the_shapes(self):
        rng = random.Random(6)
        avoid = [world.COLOURS[c] for c in ("red", "green", "blue")]
        for _ in range(300):
            c = world._clear_colour(rng, avoid)
            self.assertTrue(all(math.dist(c, a) >= 150 for a in avoid), c)

    def test_unknown_style_is_refused(self):
        with self.assertRaises(ValueError):
            world._background(random.Random(1), 4, 4, "neon")


class PatchLabels(unittest.TestCase):
    def test_squash_and_pad_place_a_wide_scene_differently(self):
        # A 200 × 100 canvas, one circle in the top-left quarter.
        scene = {"w": 200, "h": 100, "objects": [{"shape": "circle", "colour": "red", "cx": 40, "cy": 25, "r": 22}]}
        padded, _ = world.patch_labels(scene, size=48, patch=8)
        squashed, _ = world.patch_labels(scene, size=48, patch=8, squash=True)
        # Padded: the image is 48 × 24 in the middle rows (12…36); the circle's centre is at (9.6, 18).
        self.assertEqual(padded.reshape(6, 6)[2, 1], 0)
        self.assertEqual(padded.reshape(6, 6)[0].max(), -1)
        # Squashed: the circle's centre is at (9.6, 12).
        self.assertEqual(squashed.reshape(6, 6)[1, 1], 0)
        self.assertEqual(squashed.reshape(6, 6)[5].max(), -1)


class ClipImages(unittest.TestCase):
    def test_examples_are_clip_sized_and_labelled(self):
        for seed in range(6):
            scene, pix, shape_lbl, colour_lbl = clip._example((seed, "any"))
            self.assertEqual(pix.shape, (clip.SIZE, clip.SIZE, 3))
            self.assertEqual(pix.dtype, np.uint8)
            self.assertEqual(shape_lbl.shape, ((clip.SIZE // 8) ** 2,))
            # Every labelled patch names a shape and colour that is in the scene.
            names = {(world.SHAPES.index(o["shape"]), world.COLOUR_NAMES.index(o["colour"])) for o in scene["objects"]}
            for s, c in zip(shape_lbl, colour_lbl):
                if s >= 0:
                    self.assertIn((s, c), names)


if __name__ == "__main__":
    unittest.main()
