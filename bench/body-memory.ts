// npm run bench:body-memory — the server's memory under large request bodies
// (issue 25, item 6): six concurrent 100 MB bodies, each invalid at its very
// end (so every one is read whole before it is refused with 400), to each
// large-limit route — /v1/chat/completions, /v1/embeddings, /api/import — on
// the real server (`npm start`) with its default limits. It samples the
// server process's resident memory every 25 ms and prints, per route:
//   BODY_MEMORY route=… bodies=6x100MB statuses=… before_mib=… peak_mib=… after_mib=… peak_growth_mib=… per_request_mib=…
// per_request_mib is the peak growth over the number of bodies that the
// shared large-body budget (LARGE_BODY_BUDGET_BYTES, 256 MiB by default) lets
// be read at once. The baseline is the same server at rest before each burst.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { TestClient } from "../tests/helpers/client";
import { startServer } from "../tests/helpers/server";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const MiB = 1024 * 1024;
const BODY_BYTES = Number(process.env.BENCH_BODY_MB ?? 100) * MiB;
const BODIES = Number(process.env.BENCH_BODIES ?? 6);

/** The pid of the server.mjs process listening on `port` (npm start runs it as a child). */
function serverPid(port: number): number {
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("server.mjs")) continue;
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`PORT=${port}`)) return Number(pid);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no server.mjs process for port ${port}`);
}

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

/** A JSON body of `bytes` that is valid until its last byte: a long string never closed. */
function sendBody(url: string, headers: Record<string, string>, bytes: number): Promise<number> {
  const head = Buffer.from('{"model":"m","input":"');
  const chunk = Buffer.alloc(MiB, "A");
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", headers: { ...headers, "content-type": "application/json", "content-length": String(bytes) } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    let sent = 0;
    const write = () => {
      if (sent === 0) {
        req.write(head);
        sent += head.length;
      }
      while (sent < bytes) {
        const n = Math.min(chunk.length, bytes - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once("drain", write);
      }
      req.end();
    };
    write();
  });
}

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-body-"));
  const server = await startServer({ dataDir, env: { ENGINE_PRELOAD: "false" } });
  try {
    const client = new TestClient(server.url, "127.0.0.1");
    await client.newAccount();
    const secret = ((await (await client.fetch("/api/keys", { method: "POST", json: { name: "bench" } })).json()) as { secret: string }).secret;
    const pid = serverPid(server.port);
    const routes: [string, Record<string, string>][] = [
      ["/v1/chat/completions", { authorization: `Bearer ${secret}` }],
      ["/v1/embeddings", { authorization: `Bearer ${secret}` }],
      ["/api/import", { cookie: client.cookieHeader() }],
    ];
    const budgetMiB = Number(process.env.LARGE_BODY_BUDGET_BYTES ?? 256 * MiB) / MiB;
    const atOnce = Math.max(1, Math.min(BODIES, Math.floor(budgetMiB / (BODY_BYTES / MiB))));
    for (const [route, headers] of routes) {
      // At rest: let the last burst's garbage go first.
      await new Promise((r) => setTimeout(r, 3000));
      const before = rssMiB(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 25);
      const statuses = await Promise.all(Array.from({ length: BODIES }, () => sendBody(`${server.url}${route}`, headers, BODY_BYTES)));
      clearInterval(sampler);
      await new Promise((r) => setTimeout(r, 3000));
      const after = rssMiB(pid);
      const counts = Object.entries(statuses.reduce<Record<number, number>>((m, s) => ({ ...m, [s]: (m[s] ?? 0) + 1 }), {}))
        .map(([s, n]) => `${n}x${s}`)
        .join(",");
      console.log(
        `BODY_MEMORY route=${route} bodies=${BODIES}x${BODY_BYTES / MiB}MB statuses=${counts} before_mib=${before.toFixed(0)} peak_mib=${peak.toFixed(0)} after_mib=${after.toFixed(0)} peak_growth_mib=${(peak - before).toFixed(0)} per_request_mib=${((peak - before) / atOnce).toFixed(0)}`,
      );
    }
  } finally {
    await server.stop();
  }
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
