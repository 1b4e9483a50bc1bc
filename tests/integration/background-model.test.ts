import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackgroundModel, BackgroundModelFailed } from "@/lib/engine/background-model";
import { scanCatalog, type CatalogModel } from "@/lib/engine/catalog";
import type { Engine } from "@/lib/engine/engine";
import { drain, loadEngine, tinyRandomModel } from "../helpers/engine";

// The background model process (lib/engine/background-model.ts) on the
// shipped demo model: it writes the caption the engine itself writes, it is
// frozen (SIGSTOP, state "T" in /proc) for exactly as long as an answer
// runs and finishes its work afterwards, and it never outlives its engine.

const root = path.resolve(import.meta.dirname, "..", "..");
const image = path.join(root, "tests", "fixtures", "red-circle.png");
const CAPTION = [{ role: "user" as const, text: "Describe the image.", images: [image] }];

/** The kernel's state letter for a process ("R", "S", "T" = stopped), or null when it is gone. */
function procState(pid: number): string | null {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[0]!;
  } catch {
    return null;
  }
}

/** CPU time a process has used, in clock ticks (utime + stime, all threads). */
function cpuTicks(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return Number(stat[11]) + Number(stat[12]);
}

const alive = (pid: number) => {
  const s = procState(pid);
  return s !== null && s !== "Z";
};

async function until(what: string, ok: () => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.runIf(process.platform === "linux")("the background model process", () => {
  let engine: Engine;
  let cacheDir: string;
  let demo: CatalogModel;

  beforeAll(async () => {
    const { models } = await scanCatalog({ dir: path.join(root, "models", "tiny") });
    demo = models.find((m) => m.vision)!;
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-background-"));
    engine = await loadEngine(demo, "llama-node", { cacheDir });
  });
  afterAll(async () => {
    await engine?.dispose();
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  it("writes the caption the engine writes, from the same prompt and image", async () => {
    const background = engine.backgroundModel()!;
    expect(engine.status().background).toBe("stopped");
    const fromEngine = (await drain(engine, { messages: CAPTION, maxTokens: 48, sampling: { temperature: 0 } })).text;
    const fromBackground = await background.generate({ ...(await engine.prepareInput(CAPTION)), maxTokens: 48 });
    expect(fromBackground).toBe(fromEngine);
    expect(fromBackground).toMatch(/red circle/i);
    expect(engine.status().background).toBe("idle");
    // Lowest priority (nice 19, field 19 of /proc/…/stat) on every thread, the compute threads included.
    const tasks = fs.readdirSync(`/proc/${background.pid}/task`);
    expect(tasks.length).toBeGreaterThan(1);
    for (const tid of tasks) {
      const stat = fs.readFileSync(`/proc/${background.pid}/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
      expect(Number(stat[16])).toBe(19);
    }
  });

  it("is frozen while an answer runs and finishes its work afterwards", async () => {
    const background = engine.backgroundModel()!;
    const pid = background.pid!;
    const input = await engine.prepareInput(CAPTION);
    // A queue of captions, so one is always under way when the answer starts.
    const captions = Promise.all(Array.from({ length: 6 }, () => background.generate({ ...input, maxTokens: 48 })));
    await until("a caption under way", () => engine.status().background === "working");
    const states: string[] = [];
    let cpuAtFirstToken = 0;
    const answer = await drain(engine, { messages: [{ role: "user", text: "Hello" }], maxTokens: 64, sampling: { temperature: 0 } }, (_t, n) => {
      if (n === 1) cpuAtFirstToken = cpuTicks(pid);
      states.push(`${engine.status().background}/${procState(pid)}`);
    });
    const cpuDuringAnswer = cpuTicks(pid) - cpuAtFirstToken;
    expect(answer.text.length).toBeGreaterThan(5);
    expect(states.length).toBeGreaterThan(3);
    // Frozen before the answer's first token, and stopped by the kernel ("T") during the answer. A
    // signal takes effect the next time the process is scheduled, and at nice 19 on a busy machine
    // (other test files beside this one) that can be several tokens later: until then it is "R",
    // runnable but not run, which the CPU count below checks.
    expect(states.every((s) => s.startsWith("frozen/"))).toBe(true);
    // Runnable ("R") only until it first stops; once stopped, it stays stopped to the end of the answer.
    const stoppedAt = states.indexOf("frozen/T");
    expect(stoppedAt).toBeGreaterThanOrEqual(0);
    expect(states.slice(0, stoppedAt).every((s) => s === "frozen/R")).toBe(true);
    expect(states.slice(stoppedAt).every((s) => s === "frozen/T")).toBe(true);
    // And it used no CPU while the answer was written (ticks of 10 ms; one may be in flight).
    expect(cpuDuringAnswer).toBeLessThanOrEqual(1);
    // Once the engine is idle it goes on, and nothing of its work was lost.
    expect(engine.status().background).not.toBe("frozen");
    for (const text of await captions) expect(text).toMatch(/red circle/i);
    expect(procState(pid)).not.toBe("T");
  });

  it("starts again after it dies, and ends a frozen leftover of a killed app", async () => {
    const background = engine.backgroundModel()!;
    const first = background.pid!;
    process.kill(first, "SIGKILL");
    await until("the process to go", () => background.pid === undefined);
    expect(engine.status().background).toBe("stopped");
    // A process left frozen by an app that was killed -9: its pid is in the pid file.
    const leftover = spawn(process.execPath, [path.join(root, "scripts", "background-model.mjs")], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
    await until("the leftover to start", () => alive(leftover.pid!));
    process.kill(leftover.pid!, "SIGSTOP");
    fs.writeFileSync(path.join(cacheDir, "background-model.pid"), String(leftover.pid));
    const text = await background.generate({ ...(await engine.prepareInput(CAPTION)), maxTokens: 48 });
    expect(text).toMatch(/red circle/i);
    expect(background.pid).not.toBe(first);
    await until("the leftover to be ended", () => !alive(leftover.pid!));
    expect(fs.readFileSync(path.join(cacheDir, "background-model.pid"), "utf8").split(" ")[0]).toBe(String(background.pid));
  });

  it("goes with its engine", async () => {
    const pid = engine.backgroundModel()!.pid!;
    expect(alive(pid)).toBe(true);
    await engine.dispose();
    await until("the process to end and its pid file to go", () => !alive(pid) && !fs.existsSync(path.join(cacheDir, "background-model.pid")));
    expect(engine.backgroundModel()).toBeNull();
  });

  describe("on its own", () => {
    const idle = { isBusy: () => false, onChange: () => () => {} };
    const options = (extra: Partial<ConstructorParameters<typeof BackgroundModel>[0]> = {}) => ({
      modelPath: demo.path,
      mmprojPath: demo.vision!.mmprojPath,
      contextSize: 512,
      threads: 1,
      pidFile: path.join(cacheDir, `own-${Math.random().toString(36).slice(2)}.pid`),
      ...extra,
    });

    it("exits when idle and starts again for the next request", async () => {
      const model = new BackgroundModel(options({ idleExitMs: 200 }), idle);
      try {
        const input = await engine.prepareInput(CAPTION);
        expect(await model.generate({ ...input, maxTokens: 48 })).toMatch(/red circle/i);
        const first = model.pid!;
        await until("the idle exit", () => model.state === "stopped" && !alive(first));
        expect(await model.generate({ ...input, maxTokens: 48 })).toMatch(/red circle/i);
        expect(model.pid).not.toBe(first);
      } finally {
        model.dispose();
      }
    });

    it("ends a generation past its time limit and rests before starting again", async () => {
      // The random-weight pair writes until its budget: seconds of work. The clock ticks once a second.
      const { model: random } = await tinyRandomModel();
      const model = new BackgroundModel(options({ modelPath: random.path, mmprojPath: random.vision!.mmprojPath, contextSize: 16_384, runLimitMs: 1 }), idle);
      try {
        const slow = model.generate({ prompt: "USER: Tell me a long story.\nASSISTANT:", images: [], maxTokens: 16_000 });
        await expect(slow).rejects.toBeInstanceOf(BackgroundModelFailed);
        await expect(model.generate({ prompt: "USER: hi\nASSISTANT:", images: [], maxTokens: 4 })).rejects.toThrow(/resting/);
      } finally {
        model.dispose();
      }
    });

    it("says it is broken when the model does not load, so work goes to the engine", async () => {
      const model = new BackgroundModel(options({ mmprojPath: path.join(cacheDir, "no-such-mmproj.gguf") }), idle);
      try {
        await expect(model.generate({ prompt: "USER: hi\nASSISTANT:", images: [], maxTokens: 4 })).rejects.toBeInstanceOf(BackgroundModelFailed);
        expect(model.broken).toMatch(/did not load/);
        await expect(model.generate({ prompt: "USER: hi\nASSISTANT:", images: [], maxTokens: 4 })).rejects.toThrow(/did not load/);
      } finally {
        model.dispose();
      }
    });
  });
});
