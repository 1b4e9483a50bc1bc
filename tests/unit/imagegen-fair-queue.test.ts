import { describe, expect, it } from "vitest";
import { FairQueue } from "@/lib/imagegen/fair-queue";

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};
const tick = () => new Promise((r) => setTimeout(r, 0));

describe("FairQueue", () => {
  it("takes users in turn: a batch does not starve another user's one job", async () => {
    const q = new FairQueue({ concurrency: () => 1, perUser: () => 10 });
    const order: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const job = (user: string, name: string) => {
      const gate = deferred();
      gates.set(name, gate);
      return q.run(user, async () => {
        order.push(name);
        await gate.promise;
      });
    };
    const all = [job("alice", "a1"), job("alice", "a2"), job("alice", "a3"), job("bob", "b1"), job("carol", "c1")];
    for (const name of ["a1", "b1", "c1", "a2", "a3"]) {
      await tick();
      gates.get(name)!.resolve();
    }
    await Promise.all(all);
    expect(order).toEqual(["a1", "b1", "c1", "a2", "a3"]);
  });

  it("runs one job per user at a time, even with room for more", async () => {
    const q = new FairQueue({ concurrency: () => 4, perUser: () => 10 });
    let running = 0;
    let most = 0;
    const work = async () => {
      most = Math.max(most, ++running);
      await tick();
      running--;
    };
    await Promise.all([q.run("alice", work), q.run("alice", work), q.run("alice", work)]);
    expect(most).toBe(1);
  });

  it("refuses a user's job past the cap with 429 and Retry-After", async () => {
    const q = new FairQueue({ concurrency: () => 1, perUser: () => 2 });
    const gate = deferred();
    const a = q.run("alice", () => gate.promise);
    const b = q.run("alice", () => gate.promise);
    let refusal: unknown;
    try {
      await q.run("alice", () => gate.promise);
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toMatchObject({ status: 429, code: "rate_limited:image_queue", message: expect.stringMatching(/at most 2 at once/) });
    expect((refusal as { extra: { retryAfterSeconds: number } }).extra.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Another user is not affected.
    const c = q.run("bob", async () => "bob");
    gate.resolve();
    await Promise.all([a, b]);
    expect(await c).toBe("bob");
  });

  it("an abort while waiting takes the job out of the queue", async () => {
    const q = new FairQueue({ concurrency: () => 1, perUser: () => 5 });
    const gate = deferred();
    const first = q.run("alice", () => gate.promise);
    const stop = new AbortController();
    let ran = false;
    const second = q.run("bob", async () => void (ran = true), stop.signal);
    expect(q.length).toBe(1);
    stop.abort(new Error("stopped"));
    await expect(second).rejects.toThrow("stopped");
    expect(q.length).toBe(0);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
  });
});
