import { describe, expect, it } from "vitest";
import { idlePause, wakeImageIndexer } from "@/lib/images/index-wake";

describe("the image indexer's idle pause", () => {
  it("ends after its time when nothing wakes it", async () => {
    const started = performance.now();
    await expect(idlePause(60)).resolves.toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
  });

  it("ends at once, for every pause, when a new image wakes it; a later pause waits again", async () => {
    const started = performance.now();
    const pauses = [idlePause(10_000), idlePause(10_000)];
    wakeImageIndexer();
    await expect(Promise.all(pauses)).resolves.toEqual([true, true]);
    expect(performance.now() - started).toBeLessThan(1000);
    // Nothing waiting: a wake is not kept for the next pause.
    wakeImageIndexer();
    await expect(idlePause(30)).resolves.toBe(false);
  });
});
