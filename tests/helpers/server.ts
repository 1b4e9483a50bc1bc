import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { freePort } from "../../lib/engine/llama-server/supervisor";
import { databaseUrlFor } from "./database";

const root = path.resolve(import.meta.dirname, "..", "..");

export interface RunningServer {
  url: string;
  port: number;
  /** Everything the server printed so far. */
  output: () => string;
  /** Sends a signal to the server's whole process group (npm start, the server, llama-server). */
  signal: (signal: NodeJS.Signals) => void;
  /** The exit code of `npm start` (null if killed by a signal), once it exits. */
  exited: Promise<number | null>;
  stop: () => Promise<void>;
}

/**
 * Starts the app exactly as `npm start` does (migrations, build if stale,
 * the production server) on a free port with its own data directory, and
 * the data directory's database (tests/helpers/database.ts: SQLite in it, or
 * a PostgreSQL database of its own under TEST_DATABASE_URL).
 */
export async function startServer({
  dataDir,
  env = {},
  timeoutMs = 240_000,
}: {
  dataDir: string;
  env?: Record<string, string>;
  timeoutMs?: number;
}): Promise<RunningServer> {
  const port = await freePort();
  const databaseUrl = await databaseUrlFor(dataDir);
  let log = "";
  // As package.json's start script runs it: node with tsx's loader, no tsx CLI in between (the CLI
  // relays signals and SIGKILLs a child that does not confirm one within 30 ms, exit 143 under load).
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    // In-process unless a test asks for another engine (the llama-server tests do), or the whole
    // suite is pointed at one: TEST_ENGINE=llama-server npm run test:integration.
    // Cheap password hashes (bcrypt cost 4, not 11): the suites sign up hundreds of accounts, and at
    // the real cost hashing was a quarter of the shared server's CPU. The reliability run, which
    // times a sign-in under a spray of wrong passwords, sets PASSWORD_HASH_COST back to 11.
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      ENGINE: process.env.TEST_ENGINE ?? "in-process",
      PASSWORD_HASH_COST: process.env.PASSWORD_HASH_COST ?? "4",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      process.kill(-child.pid!, "SIGKILL");
      throw new Error(`server did not start within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }

  return {
    url,
    port,
    output: () => log,
    signal: (signal) => process.kill(-child.pid!, signal),
    exited,
    stop: async () => {
      if (child.exitCode !== null) return;
      process.kill(-child.pid!, "SIGTERM");
      const killer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 8000);
      await exited;
      clearTimeout(killer);
    },
  };
}
