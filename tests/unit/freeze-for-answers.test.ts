import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { awakeTimeout } from "@/lib/media/ffmpeg";
import { freezeForAnswers, setprivPath } from "@/lib/media/freeze-for-answers";
import { fakeActivity } from "../helpers/fake-activity";

const SETPRIV = setprivPath();

// The reader of an uploaded file is frozen while answers are written (issue 22's
// answer_delay_during_prep): a real process group, a stand-in for the engine's slot pool.

/** The kernel's state letter for a process: T when stopped. */
const state = (pid: number) => fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reader-like group: a shell and a child of its own, both busy. */
function group(): ChildProcess {
  return spawn("/bin/sh", ["-c", "(while :; do :; done) & while :; do :; done"], { detached: true, stdio: "ignore" });
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

describe.skipIf(!SETPRIV || process.platform !== "linux")("freezeForAnswers", () => {
  it("stops the whole group while answers run and lets it go on when they end, counting the time frozen", async () => {
    const c = group();
    children.push(c);
    await sleep(100);
    const kids = fs.readFileSync(`/proc/${c.pid}/task/${c.pid}/children`, "utf8").trim().split(/\s+/).map(Number);
    expect(kids.length).toBeGreaterThan(0);
    const a = fakeActivity();
    const f = freezeForAnswers(c.pid!, a.activity, { maxPausedMs: 10_000 });
    expect(state(c.pid!)).not.toBe("T");
    a.set(true);
    await sleep(50);
    expect(state(c.pid!)).toBe("T");
    expect(state(kids[0]!)).toBe("T");
    await sleep(200);
    a.set(false);
    await sleep(50);
    expect(state(c.pid!)).not.toBe("T");
    expect(state(kids[0]!)).not.toBe("T");
    expect(f.pausedMs()).toBeGreaterThanOrEqual(200);
    expect(f.pausedMs()).toBeLessThan(1000);
    f.release();
    expect(a.listeners.size).toBe(0);
  });

  it("freezes at once when answers are already running, and never past its budget in all", async () => {
    const c = group();
    children.push(c);
    const a = fakeActivity();
    a.set(true);
    const f = freezeForAnswers(c.pid!, a.activity, { maxPausedMs: 300 });
    await sleep(50);
    expect(state(c.pid!)).toBe("T");
    await sleep(400); // the budget is spent while answers still run: it goes on
    expect(state(c.pid!)).not.toBe("T");
    a.set(false);
    a.set(true); // a later answer: no budget left, no freeze
    await sleep(50);
    expect(state(c.pid!)).not.toBe("T");
    expect(f.pausedMs()).toBeGreaterThanOrEqual(290);
    expect(f.pausedMs()).toBeLessThan(600);
    f.release();
  });

  it("release lets a frozen group go on; without an engine on this CPU nothing is frozen", async () => {
    const c = group();
    children.push(c);
    const a = fakeActivity();
    const f = freezeForAnswers(c.pid!, a.activity, { maxPausedMs: 10_000 });
    a.set(true);
    await sleep(50);
    expect(state(c.pid!)).toBe("T");
    f.release();
    await sleep(50);
    expect(state(c.pid!)).not.toBe("T");
    a.set(true);
    const none = freezeForAnswers(c.pid!, null, { maxPausedMs: 10_000 });
    await sleep(50);
    expect(state(c.pid!)).not.toBe("T");
    expect(none.pausedMs()).toBe(0);
  });
});

describe.skipIf(!SETPRIV || process.platform !== "linux")("a frozen reader whose server dies", () => {
  it("is ended by the kernel (setpriv --pdeathsig KILL), not left frozen for ever", async () => {
    // A stand-in server (sh) starts a reader as the app does, and is killed while the reader is frozen.
    const server = spawn("/bin/sh", ["-c", `${SETPRIV} --pdeathsig KILL /bin/sh -c 'while :; do :; done' & echo $!; wait`], { stdio: ["ignore", "pipe", "ignore"] });
    children.push(server);
    const reader = await new Promise<number>((resolve) => server.stdout!.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
    await sleep(100);
    process.kill(reader, "SIGSTOP");
    await sleep(50);
    expect(state(reader)).toBe("T");
    server.kill("SIGKILL");
    let gone = false;
    for (let i = 0; i < 40 && !gone; i++) {
      await sleep(50);
      gone = !fs.existsSync(`/proc/${reader}`) || state(reader) === "Z";
    }
    expect(gone).toBe(true);
  });
});

describe("awakeTimeout", () => {
  it("fires after the waking time asked for", async () => {
    let fired = 0;
    const started = Date.now();
    awakeTimeout(120, () => (fired = Date.now() - started), 20);
    await sleep(300);
    expect(fired).toBeGreaterThanOrEqual(110);
    expect(fired).toBeLessThan(300);
  });

  it("counts a late tick (the process was frozen) as one tick, not the time it was away", async () => {
    // A child process with a 600 ms limit, stopped for 1.5 s 100 ms after its timer started.
    const code = `
      const { awakeTimeout } = await import(${JSON.stringify(new URL("../../lib/media/ffmpeg.ts", import.meta.url).pathname)});
      const t0 = Date.now();
      awakeTimeout(600, () => { console.log("fired " + (Date.now() - t0)); process.exit(0); }, 50);
      console.log("started");
    `;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    const started = new Promise<void>((resolve) => child.stdout!.on("data", (d: Buffer) => ((out += d.toString()), out.includes("started") && resolve())));
    await started;
    await sleep(100);
    process.kill(child.pid!, "SIGSTOP");
    await sleep(1500);
    process.kill(child.pid!, "SIGCONT");
    await new Promise((r) => child.on("close", r));
    const fired = Number(/fired (\d+)/.exec(out)?.[1]);
    // A plain setTimeout would fire on waking, at ~1600 ms (the 1.5 s frozen counted as work).
    expect(fired).toBeGreaterThan(1900);
  }, 20_000);
});
