import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { autoBuildEnabled, startAutoBuild, type UpgradeStatus } from "@/lib/engine/auto-build";

// The background llama-server build's runner, with a stand-in build (a node
// script printing cmake-style progress) so no test compiles llama.cpp: what
// it proves is the runner's part — progress and ETA from the output, the
// lowest priority, one build per machine (the lock), the hand-over called
// once the build is usable, and a failure reported with its reason. That
// the real build command works is `npm run engine:build`'s own test.

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function fakeBuild({ fail = false, steps = [5, 20, 50, 80, 100], stepMs = 120 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-autobuild-"));
  dirs.push(dir);
  const script = `
    const fs = require("fs"), os = require("os");
    fs.appendFileSync(${JSON.stringify(path.join(dir, "runs"))}, os.getPriority() + "\\n");
    const steps = ${JSON.stringify(steps)};
    let i = 0;
    const tick = () => {
      if (i < steps.length) { console.log("[ " + steps[i++] + "%] Building CXX object"); return setTimeout(tick, ${stepMs}); }
      if (${fail}) { console.error("error: cmake: command not found"); process.exit(1); }
      fs.writeFileSync(${JSON.stringify(path.join(dir, "built"))}, "yes");
    };
    tick();`;
  return { dir, command: [process.execPath, "-e", script], isBuilt: () => fs.existsSync(path.join(dir, "built")), runs: () => fs.readFileSync(path.join(dir, "runs"), "utf8").trim().split("\n") };
}

const watch = (status: () => UpgradeStatus) => {
  const seen: UpgradeStatus[] = [];
  const timer = setInterval(() => seen.push(status()), 10);
  return { seen, stop: () => clearInterval(timer) };
};

describe("the background llama-server build", () => {
  it("reports progress and a time left, runs at the lowest priority, and hands over once built", async () => {
    const b = fakeBuild();
    let handedOver = 0;
    const build = startAutoBuild({ command: b.command, dir: b.dir, isBuilt: b.isBuilt, onBuilt: async () => void handedOver++ });
    const w = watch(build.status);
    await build.finished;
    w.stop();
    expect(build.status()).toMatchObject({ state: "done", percent: 100 });
    expect(handedOver).toBe(1);
    const mid = w.seen.find((s) => s.state === "building" && s.percent === 50);
    expect(mid?.etaSeconds).not.toBeNull();
    expect(w.seen.filter((s) => s.state === "building").map((s) => s.percent ?? 0)).toEqual([...w.seen.filter((s) => s.state === "building").map((s) => s.percent ?? 0)].sort((x, y) => x - y));
    if (fs.existsSync("/usr/bin/nice")) expect(b.runs()).toEqual(["19"]);
    expect(fs.existsSync(path.join(b.dir, "autobuild.lock"))).toBe(false);
  });

  it("builds once for two instances: the second waits for the first's result and hands over too", async () => {
    const b = fakeBuild({ stepMs: 200 });
    const handed: string[] = [];
    const first = startAutoBuild({ command: b.command, dir: b.dir, isBuilt: b.isBuilt, onBuilt: async () => void handed.push("first") });
    const second = startAutoBuild({ command: b.command, dir: b.dir, isBuilt: b.isBuilt, onBuilt: async () => void handed.push("second"), pollMs: 50 });
    expect(second.status().state).toBe("waiting");
    await Promise.all([first.finished, second.finished]);
    expect(b.runs()).toHaveLength(1);
    expect(handed.sort()).toEqual(["first", "second"]);
    expect(second.status().state).toBe("done");
  });

  it("reports a failed build with its last line, stays put, and frees the lock for the next start", async () => {
    const b = fakeBuild({ fail: true });
    let handedOver = false;
    const build = startAutoBuild({ command: b.command, dir: b.dir, isBuilt: b.isBuilt, onBuilt: async () => void (handedOver = true) });
    await build.finished;
    expect(build.status().state).toBe("failed");
    expect(build.status().reason).toMatch(/build failed \(exit 1\): error: cmake: command not found; the app stays on the in-process engine and tries again on the next start/);
    expect(handedOver).toBe(false);
    expect(fs.existsSync(path.join(b.dir, "autobuild.lock"))).toBe(false);
    // The next start builds again.
    const again = startAutoBuild({ command: fakeBuild().command, dir: b.dir, isBuilt: () => true, onBuilt: async () => {} });
    expect(again.status().state).toBe("building");
    await again.finished;
  });

  it("a failed hand-over is reported, not thrown", async () => {
    const b = fakeBuild({ steps: [100] });
    const build = startAutoBuild({ command: b.command, dir: b.dir, isBuilt: b.isBuilt, onBuilt: async () => Promise.reject(new Error("llama-server exited with code 1")) });
    await build.finished;
    expect(build.status()).toMatchObject({ state: "failed", reason: "llama-server was built but the hand-over failed: llama-server exited with code 1" });
  });

  it("is turned off by ENGINE_AUTOBUILD=0", () => {
    for (const off of ["0", "false", "off", "no", " OFF "]) expect(autoBuildEnabled(off)).toBe(false);
    for (const on of [undefined, "", "1", "true"]) expect(autoBuildEnabled(on)).toBe(true);
  });
});
