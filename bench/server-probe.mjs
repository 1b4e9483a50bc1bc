// A probe for the app server's event loop while a bench runs: loaded into every Node process with
//   NODE_OPTIONS="--import $PWD/bench/server-probe.mjs" PROBE_OUT=/tmp/probe.txt npm run bench:media
// it does nothing except in scripts/server.mjs, where it appends to PROBE_OUT (epoch ms first):
//   `<t> stall <ms>`       a 10 ms timer that ran more than 15 ms late (the event loop was held)
//   `<t> cpu <ms>/<ms>`    the process's CPU time (all its threads, the model's included) over a wall window
//   `<t> gc <ms> kind=<n>` a GC pause over 5 ms (1 scavenge, 4 mark-compact)
//   `<t> spawn <ms> <cmd>` how long a child_process.spawn call held the event loop (the fork)
// Used for bench/RESULTS.md's "The server's own share of an upload".
import childProcess from "node:child_process";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
import os from "node:os";
import { PerformanceObserver } from "node:perf_hooks";

if ((process.argv[1] ?? "").endsWith("server.mjs")) {
  const out = process.env.PROBE_OUT || `${os.tmpdir()}/server-probe.txt`;
  const lines = [];
  const now = () => performance.timeOrigin + performance.now();
  let last = performance.now();
  setInterval(() => {
    const t = performance.now();
    const late = t - last - 10;
    last = t;
    if (late > 15) lines.push(`${now().toFixed(0)} stall ${late.toFixed(0)}`);
  }, 10).unref();
  let cpu = process.cpuUsage();
  let wall = now();
  setInterval(() => {
    const c = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    const t = now();
    const ms = (c.user + c.system) / 1000;
    if (ms > 15) lines.push(`${t.toFixed(0)} cpu ${ms.toFixed(0)}/${(t - wall).toFixed(0)}`);
    wall = t;
  }, 100).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 5) lines.push(`${(performance.timeOrigin + e.startTime).toFixed(0)} gc ${e.duration.toFixed(0)} kind=${e.detail?.kind}`);
  }).observe({ entryTypes: ["gc"] });
  const spawn = childProcess.spawn;
  childProcess.spawn = function (...args) {
    const t = performance.now();
    const child = spawn.apply(this, args);
    lines.push(`${(performance.timeOrigin + t).toFixed(0)} spawn ${(performance.now() - t).toFixed(1)} ${String(args[0]).slice(-20)}`);
    return child;
  };
  syncBuiltinESMExports();
  setInterval(() => {
    if (lines.length) fs.appendFileSync(out, `${lines.splice(0).join("\n")}\n`);
  }, 1000).unref();
}
