import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { layoutForPrompt, paintLayout, parsePrompt, placeObjects, type LayoutConfig, type PlannedObject } from "@/lib/imagegen/local-layout";
import { mulberry32 } from "@/lib/imagegen/local-tokenize";

// The shipped generator's config: the layout stage must paint exactly what training painted.
const shipped = JSON.parse(fs.readFileSync(path.join("models", "imagegen", "shapes-gen", "config.json"), "utf8")) as {
  layout: LayoutConfig & { reference: { objects: PlannedObject[]; pos: [number, number, number][]; nonzero: [number, number][] } };
};
const config = shipped.layout;
const rand = () => mulberry32(7);

describe("the generator's layout stage", () => {
  it("paints the map exactly as the training code (gen_data.layout_map) did for the exported reference scene", () => {
    const { objects, pos, nonzero } = config.reference;
    const map = paintLayout(objects, pos, config);
    const got = [...map].flatMap((v, i) => (v > 0 ? [[i, v] as const] : []));
    expect(got.map(([i]) => i)).toEqual(nonzero.map(([i]) => i));
    got.forEach(([, v], k) => expect(v).toBeCloseTo(nonzero[k]![1], 4));
  });

  it("reads objects, sizes, counts and relations in training and held-out wordings", () => {
    expect(parsePrompt("draw a red circle above a blue square", config, rand())).toEqual({
      objects: [
        { shape: "circle", colour: "red", size: null },
        { shape: "square", colour: "blue", size: null },
      ],
      relation: "above",
    });
    expect(parsePrompt("I want a orange square just left of a yellow triangle on a light purple background", config, rand())).toMatchObject({
      objects: [{ colour: "orange", shape: "square" }, { colour: "yellow", shape: "triangle" }],
      relation: "left",
    });
    expect(parsePrompt("A picture of a small orange triangle.", config, rand())).toEqual({
      objects: [{ shape: "triangle", colour: "orange", size: "small" }],
      relation: null,
    });
    expect(parsePrompt("a green circle on top of a purple square", config, rand())?.relation).toBe("above");
    expect(parsePrompt("a blue triangle beneath a yellow circle", config, rand())?.relation).toBe("below");
    expect(parsePrompt("a red square on the right side of a green circle", config, rand())?.relation).toBe("right");
    expect(parsePrompt("THREE RED CIRCLES ON A DARK BACKGROUND", config, rand())?.objects).toHaveLength(3);
    expect(parsePrompt("2 green triangles", config, rand())?.objects).toEqual([
      { shape: "triangle", colour: "green", size: null },
      { shape: "triangle", colour: "green", size: null },
    ]);
    const list = parsePrompt("a purple triangle, a green circle and a blue square", config, rand());
    expect(list?.objects.map((o) => `${o.colour} ${o.shape}`)).toEqual(["purple triangle", "green circle", "blue square"]);
    expect(list?.relation).toBeNull();
  });

  it("plans nothing for a prompt with no shape or with more shapes than the world holds", () => {
    expect(parsePrompt("a sunset over the sea", config, rand())).toBeNull();
    expect(parsePrompt("three red circles and two blue squares", config, rand())).toBeNull();
    expect(parsePrompt("five red circles", config, rand())).toBeNull(); // not two: no layout rather than a wrong one
    expect(parsePrompt("12 blue squares", config, rand())).toBeNull();
    // Words that are also names of Object.prototype's members are words like any other.
    expect(parsePrompt("a constructor circle", config, rand())?.objects).toEqual([expect.objectContaining({ shape: "circle", size: null })]);
    expect(parsePrompt("a red circle constructor a blue square", config, rand())?.relation).toBeNull();
    expect(layoutForPrompt("a toString valueOf red circle constructor a blue square", 3, config).plan?.objects).toHaveLength(2);
    const { map, plan } = layoutForPrompt("a cat", 1, config);
    expect(plan).toBeNull();
    expect(map.every((v) => v === 0)).toBe(true);
  });

  it("places objects inside the canvas, apart, and on the side the relation asks for", () => {
    for (const [rel, check] of [
      ["above", (a: number[], b: number[]) => a[1]! < b[1]!],
      ["below", (a: number[], b: number[]) => a[1]! > b[1]!],
      ["left of", (a: number[], b: number[]) => a[0]! < b[0]!],
      ["right of", (a: number[], b: number[]) => a[0]! > b[0]!],
    ] as const) {
      for (let seed = 0; seed < 20; seed++) {
        const r = mulberry32(seed);
        const plan = parsePrompt(`a red circle ${rel} a blue square`, config, r)!;
        const pos = placeObjects(plan, config, r)!;
        expect(check(pos[0]!, pos[1]!)).toBe(true);
        for (const [x, y, rad] of pos) {
          expect(x - rad).toBeGreaterThan(0);
          expect(y + rad).toBeLessThan(1);
        }
        expect(Math.hypot(pos[0]![0] - pos[1]![0], pos[0]![1] - pos[1]![1])).toBeGreaterThan(pos[0]![2] + pos[1]![2]);
      }
    }
  });

  it("is the same for the same seed and differs between seeds", () => {
    const a = layoutForPrompt("two blue squares", 5, config).map;
    expect(layoutForPrompt("two blue squares", 5, config).map).toEqual(a);
    expect(layoutForPrompt("two blue squares", 6, config).map).not.toEqual(a);
  });
});
