// npm test — the whole suite, in order, stopping at the first failure:
// lint, types, unit, python (the training code's tests; skipped without PyTorch),
// integration (SQLite: the files that run side by side, then those that run one
// at a time with the PostgreSQL pass beside them, then the one timed alone),
// reliability, end-to-end.
//
// llama-server (npm run engine:build, about ten minutes of two cores on a
// first run) starts building in the background at the lowest CPU priority,
// beside lint, types and unit, which are mostly single-threaded and leave a
// core idle; the suite waits for it before the integration tests. (Building
// it beside the integration tests too was tried: they keep both cores busy,
// so the build gained little and slowed them by more.)
// Its output goes to .cache/engine-build.log.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
/** A TypeScript script in this process's node with tsx's loader: the tsx CLI's signal relay can SIGKILL its child (and skip its cleanup). */
const tsScript = (file: string) => ({ cmd: process.execPath, args: ["--import", "tsx", file] });
const logFile = path.join(root, ".cache", "engine-build.log");

type Command = { name: string; cmd: string; args: string[]; env?: Record<string, string> };
const vitestProjects = (...projects: string[]) => ({ cmd: bin("vitest"), args: ["run", ...projects.flatMap((p) => ["--project", p])] });
const besideLog = path.join(root, ".cache", "test-beside.log");

const steps: (Command & { needsEngine?: boolean; beside?: Command })[] = [
  { name: "lint", cmd: "npm", args: ["run", "--silent", "lint"] },
  { name: "types", cmd: "npm", args: ["run", "--silent", "typecheck"] },
  { name: "unit", cmd: bin("vitest"), args: ["run", "--project", "unit"] },
  // The training code's Python tests (models/train/test_*.py), where Debian's PyTorch is installed.
  { name: "python", cmd: "sh", args: ["-c", "if /usr/bin/python3 -c 'import torch, numpy, PIL' 2>/dev/null; then /usr/bin/python3 -m unittest discover -s models/train -p 'test_*.py'; else echo 'skipped: /usr/bin/python3 has no PyTorch (apt-get install python3-torch python3-pil python3-numpy)'; fi"] },
  { name: "integration", ...vitestProjects("integration"), needsEngine: true },
  // The files that run one at a time wait on servers, leases, timers and sign-in delays: in the last
  // full run they left a third of the two cores idle, and so did the PostgreSQL pass after them. The
  // pass now runs beside them, one file at a time too (INTEGRATION_WORKERS=1), its output in
  // .cache/test-beside.log (its tail is printed if it fails). Their bounds (a slot freed within a
  // second, sign-in delays, leases) have slack for that; the one file that times answers against a
  // quiet machine (a 10 % bound) runs next, alone.
  {
    name: "integration, one file at a time",
    ...vitestProjects("integration-serial"),
    needsEngine: true,
    beside: { name: "integration on PostgreSQL", ...tsScript("scripts/test-pg.ts"), env: { INTEGRATION_WORKERS: "1" } },
  },
  { name: "integration, timed alone", ...vitestProjects("integration-alone"), needsEngine: true },
  { name: "reliability", ...tsScript("tests/reliability/run.ts"), needsEngine: true, env: { RELIABILITY_FLOOD_S: "30" } },
  // The same on llama-server, without the phases that do not involve the engine (bad inputs, the
  // import, the sign-in spray: the run above has them).
  {
    name: "reliability on llama-server",
    ...tsScript("tests/reliability/run.ts"),
    needsEngine: true,
    env: { TEST_ENGINE: "llama-server", RELIABILITY_FLOOD_S: "30", RELIABILITY_ENGINE_ONLY: "1" },
  },
  { name: "end-to-end", cmd: bin("playwright"), args: ["test"], needsEngine: true },
];

const started = Date.now();
const seconds = (since: number) => Math.round((Date.now() - since) / 1000);
const timings: string[] = [];
/** The step's processes now running (a step and what runs beside it). */
const running = new Set<ChildProcess>();

function startBuild() {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const log = fs.openSync(logFile, "w");
  const nice = fs.existsSync("/usr/bin/nice") ? ["/usr/bin/nice", "-n", "19"] : [];
  const script = tsScript("scripts/build-engine.ts");
  const [cmd, ...args] = [...nice, script.cmd, ...script.args];
  // Its own process group, so that stopping it stops cmake, make and the compilers too.
  const child = spawn(cmd!, args, { stdio: ["ignore", log, log], detached: process.platform !== "win32" });
  fs.closeSync(log);
  const since = Date.now();
  const done = new Promise<{ ok: boolean; seconds: number }>((resolve) => {
    child.on("error", () => resolve({ ok: false, seconds: seconds(since) }));
    child.on("exit", (code) => resolve({ ok: code === 0, seconds: seconds(since) }));
  });
  console.log(`• llama-server: npm run engine:build runs in the background at low priority (log: ${path.relative(root, logFile)})`);
  return { child, done };
}

const build = startBuild();
const stopBuild = () => {
  if (build.child.exitCode !== null || build.child.signalCode !== null || !build.child.pid) return;
  try {
    process.kill(process.platform === "win32" ? build.child.pid : -build.child.pid, "SIGTERM");
  } catch {
    /* already gone */
  }
};
// However this process ends, the build (in a process group of its own, which no terminal signal
// reaches) ends with it.
process.on("exit", stopBuild);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    stopBuild();
    const code = 128 + os.constants.signals[signal];
    const live = [...running].filter((step) => step.exitCode === null && step.signalCode === null);
    if (!live.length) process.exit(code);
    // The step (vitest, playwright) stops its own servers: give it a moment to.
    Promise.all(live.map((step) => new Promise((resolve) => step.once("exit", resolve)))).then(() => process.exit(code));
    for (const step of live) {
      try {
        process.kill(process.platform === "win32" ? step.pid! : -step.pid!, signal);
      } catch {
        /* already gone */
      }
    }
    setTimeout(() => process.exit(code), 10_000).unref();
  });
}

/** Runs a command to its end (its output to ours, or to `log`), resolving with its exit code. */
function runStep({ cmd, args, env = {} }: Command, log?: string): Promise<number> {
  return new Promise((resolve) => {
    const out = log ? fs.openSync(log, "w") : "inherit";
    // A process group of its own too, so that a stop reaches npm's children (eslint, tsc) and the
    // servers a step started, not just the step's first process.
    const child = spawn(cmd, args, { stdio: ["ignore", out, out], detached: process.platform !== "win32", env: { ...process.env, ...env } });
    if (typeof out === "number") fs.closeSync(out);
    running.add(child);
    child.on("error", (err) => {
      console.error(`${cmd}: ${err.message}`);
      resolve(1);
    });
    child.on("exit", (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

function fail(message: string): never {
  stopBuild();
  // What still runs beside the failed step (each in a process group of its own) stops with it; it
  // stops its own servers (the PostgreSQL pass, its throwaway PostgreSQL) after this exits.
  if (running.size && fs.existsSync(besideLog)) console.error(`  (what ran beside it was stopped; its output so far: ${path.relative(root, besideLog)})`);
  for (const child of running) {
    try {
      process.kill(process.platform === "win32" ? child.pid! : -child.pid!, "SIGTERM");
    } catch {
      /* already gone */
    }
  }
  console.error(`\n✗ ${message}`);
  if (timings.length) console.error(`  (${timings.join(" · ")})`);
  process.exit(1);
}

let engineReady = false;
for (const step of steps) {
  if (step.needsEngine && !engineReady) {
    const waitFrom = Date.now();
    if (build.child.exitCode === null) console.log("• waiting for the llama-server build to finish…");
    const result = await build.done;
    const tail = fs.readFileSync(logFile, "utf8").trim().split("\n").slice(-25).join("\n");
    if (!result.ok) fail(`npm run engine:build failed (whole log: ${path.relative(root, logFile)}):\n${tail}`);
    console.log(`• llama-server ready: ${tail.split("\n").at(-1)} (waited ${seconds(waitFrom)} s for it)`);
    timings.push(`engine:build ${result.seconds} s, ${seconds(waitFrom)} s of it waited for`);
    engineReady = true;
  }
  const { beside } = step;
  console.log(`\n• ${step.name}${beside ? ` (and beside it: ${beside.name}, output in ${path.relative(root, besideLog)})` : ""}`);
  const since = Date.now();
  let besideSeconds = 0;
  const besideDone = beside
    ? runStep(beside, besideLog).then((code) => {
        besideSeconds = seconds(since);
        return code;
      })
    : Promise.resolve(0);
  const code = await runStep(step);
  timings.push(`${step.name} ${seconds(since)} s`);
  if (code !== 0) fail(`${step.name} failed (exit ${code}) after ${seconds(started)} s`);
  if (beside) {
    if (running.size) console.log(`• waiting for ${beside.name}…`);
    const besideCode = await besideDone;
    const tail = fs.readFileSync(besideLog, "utf8").trimEnd().split("\n");
    timings.push(`${beside.name} ${besideSeconds} s beside it`);
    if (besideCode !== 0) fail(`${beside.name} failed (exit ${besideCode}) after ${seconds(started)} s; the end of ${path.relative(root, besideLog)}:\n${tail.slice(-80).join("\n")}`);
    console.log(`• ${beside.name}: ${tail.at(-1)}`);
  }
}
console.log(`\n✓ npm test passed in ${seconds(started)} s (${timings.join(" · ")})`);
