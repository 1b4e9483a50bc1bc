// Held-out scenes like the shipped models' training world (coloured circles,
// squares and triangles on white), drawn as SVG: a different renderer than
// training used. Shared by the CLIP and image-search tests and bench/search.ts.

export const COLOURS: Record<string, string> = {
  red: "#dc1e1e",
  green: "#1ea032",
  blue: "#1e3cdc",
  yellow: "#f0cd14",
  purple: "#8c28aa",
  orange: "#fa8214",
};
export const SHAPES = ["circle", "square", "triangle"] as const;
export type Shape = (typeof SHAPES)[number];

/** A small seeded PRNG (mulberry32), so galleries are the same on every run. */
export function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SceneObject {
  shape: Shape;
  colour: string;
  cx: number;
  cy: number;
  r: number;
}

function draw(o: SceneObject): string {
  const fill = COLOURS[o.colour];
  if (o.shape === "circle") return `<circle cx="${o.cx}" cy="${o.cy}" r="${o.r}" fill="${fill}"/>`;
  if (o.shape === "square") return `<rect x="${o.cx - o.r * 0.9}" y="${o.cy - o.r * 0.9}" width="${o.r * 1.8}" height="${o.r * 1.8}" fill="${fill}"/>`;
  return `<polygon points="${o.cx},${o.cy - o.r} ${o.cx - o.r * 0.95},${o.cy + o.r * 0.75} ${o.cx + o.r * 0.95},${o.cy + o.r * 0.75}" fill="${fill}"/>`;
}

export const svgOf = (objs: SceneObject[], size: number, background = "white") =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="${background}"/>${objs.map(draw).join("")}</svg>`;

/** Backgrounds besides white: near-black and dark greys or tints, or any colour clear of the shapes'. */
export type BackgroundKind = "white" | "dark" | "coloured";

const hex = (rgb: number[]) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;
const rgbOf = (h: string) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16));

/**
 * A background of `kind` for a scene with these shapes: dark is grey or a dark
 * tint at brightness 10–95; coloured is a random colour at least 150 (RGB,
 * Euclidean) from each shape's colour, so no shape melts into it.
 */
export function backgroundFor(rand: () => number, kind: BackgroundKind, objects: SceneObject[]): string {
  if (kind === "white") return "white";
  if (kind === "dark") {
    const g = 10 + Math.floor(rand() * 86);
    return hex(rand() < 0.6 ? [g, g, g] : [0, 1, 2].map(() => Math.max(0, Math.min(110, g + (rand() - 0.5) * 50))));
  }
  const avoid = objects.map((o) => rgbOf(COLOURS[o.colour]!));
  for (;;) {
    const c = [0, 1, 2].map(() => Math.floor(rand() * 256));
    if (avoid.every((a) => Math.hypot(a[0]! - c[0]!, a[1]! - c[1]!, a[2]! - c[2]!) >= 150)) return hex(c);
  }
}

/** One shape in the middle of a white square. */
export const singleShapeSvg = (colour: string, shape: Shape, size = 256) => svgOf([{ shape, colour, cx: size / 2, cy: size / 2, r: size * 0.3 }], size);

/** A random scene of one to three shapes; its caption names them left to right ("A red circle and a blue square."). */
export function scene(rand: () => number, size: number): { svg: string; caption: string; objects: SceneObject[]; size: number } {
  const n = 1 + Math.floor(rand() * 3);
  const objs: SceneObject[] = [];
  for (let tries = 0; objs.length < n && tries < 200; tries++) {
    const r = size * (0.11 + rand() * (n > 1 ? 0.11 : 0.23));
    const cx = r + rand() * (size - 2 * r);
    const cy = r + rand() * (size - 2 * r);
    if (objs.some((o) => Math.hypot(o.cx - cx, o.cy - cy) < (o.r + r) * 1.08)) continue;
    objs.push({ shape: SHAPES[Math.floor(rand() * 3)]!, colour: Object.keys(COLOURS)[Math.floor(rand() * 6)]!, cx, cy, r });
  }
  const objects = [...objs].sort((a, b) => a.cx - b.cx);
  const parts = objects.map((o) => `a ${o.colour} ${o.shape}`);
  const text = parts.length === 1 ? parts[0]! : parts.length === 2 ? `${parts[0]} and ${parts[1]}` : `${parts[0]}, ${parts[1]} and ${parts[2]}`;
  return { svg: svgOf(objs, size), caption: text[0]!.toUpperCase() + text.slice(1) + ".", objects, size };
}
