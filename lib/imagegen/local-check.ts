/**
 * A measuring tool for the shape-world generator (evaluation and tests, not the app):
 * finds the shapes in an RGB image by colour segmentation. Each pixel is labelled with
 * the nearest colour of the world's palette when it is within `maxDistance` of it (RGB
 * Euclidean); 4-connected components of one label with at least `minArea` pixels are the
 * blobs, with their area, centroid (0..1 of the image) and fill of their bounding box.
 */
export const PALETTE: Record<string, [number, number, number]> = {
  red: [220, 30, 30],
  green: [30, 160, 50],
  blue: [30, 60, 220],
  yellow: [240, 205, 20],
  purple: [140, 40, 170],
  orange: [250, 130, 20],
};
const NAMES = Object.keys(PALETTE);

export interface Blob {
  colour: string;
  area: number;
  /** Centroid, 0..1 of the width and height. */
  cx: number;
  cy: number;
  /** area / bounding-box area: about 0.79 for a circle, 1 for a square, 0.5 for a triangle. */
  fill: number;
}

export function findBlobs(rgb: Uint8Array, width: number, height: number, { maxDistance = 60, minArea = 12 } = {}): Blob[] {
  const n = width * height;
  const label = new Int8Array(n).fill(-1);
  const max2 = maxDistance * maxDistance;
  for (let p = 0; p < n; p++) {
    const r = rgb[p * 3]!, g = rgb[p * 3 + 1]!, b = rgb[p * 3 + 2]!;
    let best = -1;
    let bestD = max2;
    for (let k = 0; k < NAMES.length; k++) {
      const [pr, pg, pb] = PALETTE[NAMES[k]!]!;
      const d = (r - pr) ** 2 + (g - pg) ** 2 + (b - pb) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    label[p] = best;
  }
  const seen = new Uint8Array(n);
  const blobs: Blob[] = [];
  const stack: number[] = [];
  for (let p = 0; p < n; p++) {
    if (seen[p] || label[p]! < 0) continue;
    const k = label[p]!;
    let area = 0, sx = 0, sy = 0, x0 = width, x1 = 0, y0 = height, y1 = 0;
    stack.push(p);
    seen[p] = 1;
    while (stack.length) {
      const q = stack.pop()!;
      const x = q % width, y = (q - x) / width;
      area++;
      sx += x;
      sy += y;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
      for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]] as const) {
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const m = ny * width + nx;
        if (!seen[m] && label[m] === k) {
          seen[m] = 1;
          stack.push(m);
        }
      }
    }
    if (area >= minArea) {
      blobs.push({ colour: NAMES[k]!, area, cx: (sx / area + 0.5) / width, cy: (sy / area + 0.5) / height, fill: area / ((x1 - x0 + 1) * (y1 - y0 + 1)) });
    }
  }
  return blobs.sort((a, b) => b.area - a.area);
}
