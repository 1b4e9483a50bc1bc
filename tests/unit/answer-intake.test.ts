import { describe, expect, it, vi } from "vitest";
import { answerActivity, asAnswerIntake, beginAnswerIntake, whileReadingOwnFile } from "@/lib/engine/answer-intake";
import { fakeActivity as pool } from "../helpers/fake-activity";


describe("answer intake", () => {
  it("is busy from a request's arrival, through its hand-off to the engine, while the engine writes, and idle after", async () => {
    const p = pool();
    const act = answerActivity(p.activity);
    const seen: boolean[] = [];
    const off = act.onChange((b) => seen.push(b));
    expect(act.isBusy()).toBe(false);
    const done = beginAnswerIntake(() => p.activity);
    expect(act.isBusy()).toBe(true);
    done(); // the handler returned; the engine has not taken the answer yet
    expect(act.isBusy()).toBe(true);
    p.set(true); // it takes a slot: the intake ends, the engine is busy
    expect(act.isBusy()).toBe(true);
    p.set(false);
    expect(act.isBusy()).toBe(false);
    expect(seen).toEqual([true, false]); // one busy stretch, no flicker at the hand-off
    off();
  });

  it("ends a hand-off the engine never takes after 2 s, and counts overlapping requests", async () => {
    vi.useFakeTimers();
    try {
      const p = pool();
      const act = answerActivity(p.activity);
      const a = beginAnswerIntake(() => p.activity);
      const b = beginAnswerIntake(() => p.activity);
      a();
      a(); // twice is once
      expect(act.isBusy()).toBe(true);
      b();
      vi.advanceTimersByTime(1999);
      expect(act.isBusy()).toBe(true);
      vi.advanceTimersByTime(2);
      expect(act.isBusy()).toBe(false);
    } finally {
      vi.useRealTimers();
    }
  });

  it("asAnswerIntake ends the count when the handler fails, and at once without an engine on this CPU", async () => {
    const act = answerActivity(null);
    await expect(asAnswerIntake(() => null, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(act.isBusy()).toBe(false);
    let during = false;
    await asAnswerIntake(
      () => null,
      async () => {
        during = act.isBusy();
      },
    );
    expect(during).toBe(true);
    expect(act.isBusy()).toBe(false);
  });

  it("a handler that fails ends its count at once, even with an idle engine (a refused request freezes nothing)", async () => {
    const p = pool();
    const act = answerActivity(p.activity);
    await expect(asAnswerIntake(() => p.activity, async () => Promise.reject(new Error("401")))).rejects.toThrow("401");
    expect(act.isBusy()).toBe(false);
  });

  it("a request reading a file of its own sets its count aside meanwhile (its reader does not wait for it); others' counts stay", async () => {
    const p = pool();
    const act = answerActivity(p.activity);
    const other = beginAnswerIntake(() => p.activity);
    let whileReading: boolean[] = [];
    await asAnswerIntake(
      () => p.activity,
      async () => {
        other.abandon();
        await whileReadingOwnFile(async () => {
          whileReading.push(act.isBusy());
          await new Promise((r) => setTimeout(r, 5));
          whileReading.push(act.isBusy());
        });
        whileReading.push(act.isBusy());
        p.set(true); // it reaches the engine
      },
    );
    expect(whileReading).toEqual([false, false, true]);
    p.set(false);
    expect(act.isBusy()).toBe(false);
    // Outside any request, reading just runs.
    whileReading = [];
    expect(await whileReadingOwnFile(async () => 7)).toBe(7);
  });
});
