import { describe, expect, it } from "vitest";
import { AdapterGate } from "@/lib/engine/adapter-gate";

const tick = () => new Promise((r) => setTimeout(r, 0));

describe("AdapterGate", () => {
  it("runs answers with the applied set together and switches only when none runs", async () => {
    const log: string[] = [];
    let running: string[] = [];
    const gate = new AdapterGate((set) => {
      expect(running).toEqual([]); // never switched under a running answer
      log.push(`apply:${set}`);
    });
    const start = async (set: string) => {
      const release = (await gate.enter(set, set))!;
      running.push(set);
      expect(new Set(running).size).toBe(1); // never two sets at once
      expect(gate.applied).toBe(set);
      return () => {
        running = running.filter((_, i) => i !== running.indexOf(set));
        release();
      };
    };
    const a1 = await start("");
    const a2 = await start("");
    const x = start("x"); // waits for a1, a2
    const b = start(""); // queues behind x (fairness), though "" is applied
    await tick();
    expect(log).toEqual([]);
    a1();
    await tick();
    expect(log).toEqual([]);
    a2();
    const rx = await x;
    expect(log).toEqual(["apply:x"]);
    rx();
    const rb = await b;
    expect(log).toEqual(["apply:x", "apply:"]);
    rb();
  });

  it("lets in every waiter of the new set at once, and drops an aborted waiter", async () => {
    const applied: string[] = [];
    const gate = new AdapterGate((s) => void applied.push(s));
    const r0 = (await gate.enter("a", "a"))!;
    const ac = new AbortController();
    const gone = gate.enter("c", "c", ac.signal);
    const b1 = gate.enter("b", "b");
    const b2 = gate.enter("b", "b");
    ac.abort();
    expect(await gone).toBeNull();
    r0();
    const [x1, x2] = await Promise.all([b1, b2]);
    expect(applied).toEqual(["a", "b"]);
    x1!();
    x2!();
  });

  it("fails the waiters of a set that could not be applied, and recovers", async () => {
    const gate = new AdapterGate((s) => {
      if (s === "bad") throw new Error("no such file");
    });
    const r = (await gate.enter("", ""))!;
    const bad = gate.enter("bad", "bad");
    r();
    await expect(bad).rejects.toThrow("no such file");
    const ok = (await gate.enter("good", "good"))!;
    expect(gate.applied).toBe("good");
    ok();
  });
});
