import { mulberry32, promptWords } from "./local-tokenize";

/**
 * Text → layout for the shape-world generator (the first stage of a two-stage
 * generator, as in LLM-grounded diffusion, Lian et al. 2023, and GLIGEN):
 * the prompt is parsed with the training grammar's words (models/train/gen_data.py)
 * into objects (count, size, colour, shape) and at most one relation; the
 * objects are placed by the same rules as gen_data.place() with a seeded PRNG;
 * and the places are painted into the coarse map the UNet reads beside the
 * prompt (gen_data.layout_map). The network still draws every pixel; the layout
 * says where. A prompt the parser cannot read (no shape named, more than three
 * objects) gets an empty map, and the model then draws from the words alone,
 * as it was also trained to.
 */

export interface LayoutConfig {
  /** Cells per side (16). */
  size: number;
  /** Channel order after the coverage channel: shapes, then colours. */
  shapes: string[];
  colours: string[];
  /** Radius ranges (0..1 units of the canvas) by size word, as gen_data.RADIUS. */
  radius: { small: [number, number]; large: [number, number]; default: [number, number] };
  /** Radius range for unsized objects when there are 2 or 3 of them. */
  multi_radius: Record<string, [number, number]>;
}

export interface PlannedObject {
  shape: string;
  colour: string;
  size: "small" | "large" | null;
}

export interface Plan {
  objects: PlannedObject[];
  /** "a REL b" between the first two objects. */
  relation: "above" | "below" | "left" | "right" | null;
}

const SIZE_WORDS: Record<string, "small" | "large"> = { small: "small", tiny: "small", little: "small", large: "large", big: "large" };
// Four and more are read too, so that "five red circles" gets no layout (the world holds three at most) rather than a wrong one.
const NUMBER_WORDS: Record<string, number> = Object.fromEntries(
  ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "many", "several"].map((w, i) => [w, w === "many" || w === "several" ? 4 : i + 1]),
);
for (let n = 0; n <= 99; n++) NUMBER_WORDS[String(n)] = n;
/** Own keys only: a prompt word such as "constructor" is no size, number or relation. */
const has = (table: object, w: string) => Object.hasOwn(table, w);
const RELATION_WORDS: Record<string, Plan["relation"]> = {
  above: "above",
  over: "above",
  top: "above",
  below: "below",
  under: "below",
  beneath: "below",
  underneath: "below",
  left: "left",
  right: "right",
};
const MAX_OBJECTS = 3;

/** The objects and relation a prompt asks for; null when it names no shape or too many objects. */
export function parsePrompt(prompt: string, config: LayoutConfig, rand: () => number): Plan | null {
  const words = promptWords(prompt);
  const shapeOf = (w: string): { shape: string; plural: boolean } | null => {
    if (config.shapes.includes(w)) return { shape: w, plural: false };
    if (w.endsWith("s") && config.shapes.includes(w.slice(0, -1))) return { shape: w.slice(0, -1), plural: true };
    return null;
  };
  const mentions: { objects: PlannedObject[]; start: number; end: number }[] = [];
  for (let i = 0; i < words.length; i++) {
    const found = shapeOf(words[i]!);
    if (!found) continue;
    // Look back over the noun phrase: [number] [size] [colour] shape, in any order of the modifiers.
    let colour: string | null = null;
    let size: "small" | "large" | null = null;
    let count: number | null = null;
    let start = i;
    for (let j = i - 1; j >= 0 && j >= i - 4; j--) {
      const w = words[j]!;
      if (!colour && config.colours.includes(w)) colour = w;
      else if (!size && has(SIZE_WORDS, w)) size = SIZE_WORDS[w]!;
      else if (count === null && has(NUMBER_WORDS, w)) count = NUMBER_WORDS[w]!;
      else break;
      start = j;
    }
    const n = count ?? (found.plural ? 2 : 1);
    if (n < 1 || n > MAX_OBJECTS) return null;
    const obj: PlannedObject = {
      shape: found.shape,
      colour: colour ?? config.colours[Math.floor(rand() * config.colours.length)]!,
      size: n > 1 ? null : size,
    };
    mentions.push({ objects: Array.from({ length: n }, () => ({ ...obj })), start, end: i });
  }
  const objects = mentions.flatMap((m) => m.objects);
  if (objects.length === 0 || objects.length > MAX_OBJECTS) return null;
  let relation: Plan["relation"] = null;
  if (mentions.length === 2 && mentions[0]!.objects.length === 1 && mentions[1]!.objects.length === 1) {
    for (const w of words.slice(mentions[0]!.end + 1, mentions[1]!.start)) {
      if (has(RELATION_WORDS, w)) {
        relation = RELATION_WORDS[w]!;
        break;
      }
    }
  }
  return { objects, relation };
}

/** Centres and radii (0..1 units) that obey the plan, by gen_data.place()'s rules; null if 200 draws failed. */
export function placeObjects(plan: Plan, config: LayoutConfig, rand: () => number): [number, number, number][] | null {
  const n = plan.objects.length;
  const uniform = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const radii = plan.objects.map((o) => {
    let [lo, hi] = config.radius[o.size ?? "default"];
    const multi = config.multi_radius[String(n)];
    if (n > 1 && o.size === null && multi) [lo, hi] = multi;
    return uniform(lo, hi);
  });
  const want = { above: [0, 1], below: [0, -1], left: [1, 0], right: [-1, 0] } as const;
  for (let attempt = 0; attempt < 200; attempt++) {
    const pts = radii.map((r) => [uniform(r + 0.03, 1 - r - 0.03), uniform(r + 0.03, 1 - r - 0.03)] as const);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (let j = 0; j < i && ok; j++) {
        ok = Math.hypot(pts[i]![0] - pts[j]![0], pts[i]![1] - pts[j]![1]) > (radii[i]! + radii[j]!) * 1.15 + 0.03;
      }
    }
    if (!ok) continue;
    if (plan.relation && n === 2) {
      const [[ax, ay], [bx, by]] = pts as [readonly [number, number], readonly [number, number]];
      const [wx, wy] = want[plan.relation];
      const dx = bx - ax;
      const dy = by - ay;
      const along = dx * wx + dy * wy;
      const across = Math.abs(dx * wy) + Math.abs(dy * wx);
      if (along < 0.2 || across > along * 0.6) continue;
    }
    return pts.map(([x, y], i) => [x, y, radii[i]!]);
  }
  return null;
}

/** The coarse map (channels × size × size, row = y) that gen_data.layout_map paints. */
export function paintLayout(objects: PlannedObject[], pos: [number, number, number][], config: LayoutConfig): Float32Array {
  const L = config.size;
  const channels = 1 + config.shapes.length + config.colours.length;
  const out = new Float32Array(channels * L * L);
  const coverage = (c: number, r: number, k: number) => Math.max(0, Math.min((k + 1) / L, c + r) - Math.max(k / L, c - r)) * L;
  objects.forEach((o, idx) => {
    const [x, y, r] = pos[idx]!;
    const chans = [0, 1 + config.shapes.indexOf(o.shape), 1 + config.shapes.length + config.colours.indexOf(o.colour)];
    for (let row = 0; row < L; row++) {
      const cy = coverage(y, r, row);
      if (cy === 0) continue;
      for (let col = 0; col < L; col++) {
        const v = cy * coverage(x, r, col);
        if (v === 0) continue;
        for (const ch of chans) {
          const at = ch * L * L + row * L + col;
          out[at] = Math.max(out[at]!, v);
        }
      }
    }
  });
  return out;
}

/** Words that name a background after "on" or "with" ("on dark", "with a pale background"). */
const BACKGROUND = /\bbackground\b|\b(on|with)\s+(a\s+)?(white|light|pale|tinted|grey|gray|dark|black)\b/i;

/**
 * The text the generator is conditioned on: the prompt, plus "on a white background" when it
 * names none. Training drew unnamed backgrounds at random (mostly white); asked nothing, a few
 * sampling steps average those into a grey haze, so the planner fills in the usual default, as it
 * fills in a colour the prompt does not name.
 */
export function conditioningText(prompt: string): string {
  return BACKGROUND.test(prompt) ? prompt : `${prompt.trim().replace(/[.!]+$/, "")} on a white background`;
}

/** The layout map for a prompt at a seed (all zeros when the prompt cannot be planned), with the plan used. */
export function layoutForPrompt(prompt: string, seed: number, config: LayoutConfig): { map: Float32Array; plan: Plan | null } {
  const rand = mulberry32((seed ^ 0x5bd1e995) >>> 0);
  const L = config.size;
  const empty = new Float32Array((1 + config.shapes.length + config.colours.length) * L * L);
  const plan = parsePrompt(prompt, config, rand);
  if (!plan) return { map: empty, plan: null };
  const pos = placeObjects(plan, config, rand);
  if (!pos) return { map: empty, plan: null };
  return { map: paintLayout(plan.objects, pos, config), plan };
}
