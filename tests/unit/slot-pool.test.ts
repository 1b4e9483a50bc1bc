import { describe, expect, it } from "vitest";
import { SlotPool } from "@/lib/engine/slot-pool";

describe("SlotPool", () => {
  it("refuses past its queue limit, except requests their caller admitted", async () => {
    const pool = new SlotPool(1, 1);
    const first = await pool.acquire();
    const queued = pool.acquire();
    await expect(pool.acquire()).rejects.toMatchObject({ code: "queue_full" });
    const admitted = pool.acquire(undefined, { pastLimit: true });
    expect(pool.waiting).toBe(2);
    first!();
    (await queued)!();
    const release = await admitted;
    expect(release).toBeTypeOf("function");
    release!();
    expect(pool.busy).toBe(0);
  });

  it("tells listeners when it goes busy and idle again, before the holder runs, not on every hand-over", async () => {
    const pool = new SlotPool(1, 2);
    const events: string[] = [];
    const off = pool.onChange((busy) => events.push(busy ? "busy" : "idle"));
    const first = await pool.acquire();
    events.push("first runs");
    const second = pool.acquire();
    first!();
    (await second)!();
    expect(events).toEqual(["busy", "first runs", "idle"]);
    expect(pool.isBusy()).toBe(false);
    off();
    (await pool.acquire())!();
    expect(events).toHaveLength(3);
  });
});
