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
});
