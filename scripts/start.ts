// `npm start`: validate configuration, prepare the data directory, apply
// pending migrations, build if the sources changed, then serve. Everything
// here works offline; nothing is downloaded.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import type { Readable } from "node:stream";
import { redactDatabaseUrl } from "../lib/db/url";
import { ConfigError, loadEnv, type Env } from "../lib/env-schema";
import { nativeLogLine } from "../lib/logging/native-log-filter";
import { migrateDatabase } from "./db-migrate";

const root = path.resolve(import.meta.dirname, "..");
const bin = (name: string) => path.join(root, "node_modules", ".bin", name);

function fail(message: string): never {
  console.error(`\n✖ ${message}\n`);
  process.exit(1);
}

function readEnv(): Env {
  try {
    return loadEnv();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
}

function run(cmd: string, args: string[], childEnv: NodeJS.ProcessEnv, what: string) {
  const result = spawnSync(cmd, args, { cwd: root, env: childEnv, stdio: "inherit" });
  if (result.status !== 0) fail(`${what} failed (exit ${result.status ?? result.signal}).`);
}

/** Hash of everything that goes into `next build`, so an unchanged tree is not rebuilt. */
function sourceHash(): string {
  const hash = createHash("sha256");
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    const stat = fs.statSync(abs);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(abs).sort()) walk(path.join(rel, name));
    } else {
      hash.update(rel).update("\0").update(fs.readFileSync(abs)).update("\0");
    }
  };
  for (const entry of ["app", "lib", "types", "public", "instrumentation.ts", "proxy.ts", "next.config.mjs", "tsconfig.json", "package-lock.json", "prisma/schema.prisma"]) {
    walk(entry);
  }
  return hash.digest("hex");
}

function buildIfStale(childEnv: NodeJS.ProcessEnv) {
  const stamp = path.join(root, ".next", "source-hash");
  const want = sourceHash();
  const have = fs.existsSync(path.join(root, ".next", "BUILD_ID")) && fs.existsSync(stamp) ? fs.readFileSync(stamp, "utf8") : "";
  if (have === want) {
    console.log("• Build is up to date.");
    return;
  }
  console.log("• Building the app (first start or changed sources; about a minute)…");
  run(bin("next"), ["build"], childEnv, "next build");
  fs.writeFileSync(stamp, want);
}

/** Prints the lines of native output that may be logged (warnings and errors, never prompt text). */
function filterNativeOutput(stream: Readable) {
  readline.createInterface({ input: stream, crlfDelay: Infinity }).on("line", (line) => {
    const kept = nativeLogLine(line);
    if (kept) process.stderr.write(`${kept}\n`);
  });
}

async function main() {
  const env = readEnv();
  if (!["127.0.0.1", "localhost", "::1"].includes(env.HOST)) {
    console.warn(`! HOST=${env.HOST} is not a loopback address: other machines on the network can reach this app.`);
    if (!process.env.APP_URL) console.warn(`! APP_URL is not set: sign-in redirects go to ${env.APP_URL}. Set it to the address people type.`);
  }
  if (env.PASSWORD_HASH_COST < 10) {
    console.warn(`! PASSWORD_HASH_COST=${env.PASSWORD_HASH_COST}: new password hashes are cheap to guess (a test setting; the default is 11).`);
  }
  fs.mkdirSync(env.DATA_DIR, { recursive: true, mode: 0o700 });
  const dataMode = fs.statSync(env.DATA_DIR).mode & 0o777;
  if (dataMode & 0o077) {
    console.warn(`! ${env.DATA_DIR} can be read by other users of this machine (mode ${dataMode.toString(8)}); it holds every conversation and image: chmod 700 it.`);
  }
  fs.mkdirSync(env.UPLOAD_DIR, { recursive: true });

  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    DATA_DIR: env.DATA_DIR,
    DATABASE_URL: env.DATABASE_URL,
    HOST: env.HOST,
    PORT: String(env.PORT),
    APP_URL: env.APP_URL,
    // next-auth's canonical origin: never the request's Host or X-Forwarded-Host.
    NEXTAUTH_URL: env.APP_URL,
    SHUTDOWN_TIMEOUT_MS: String(env.SHUTDOWN_TIMEOUT_MS),
  };

  console.log(`• Database: ${redactDatabaseUrl(env.DATABASE_URL)}`);
  try {
    await migrateDatabase(env.DATABASE_URL);
  } catch (err) {
    fail(`Applying database migrations failed: ${(err as Error).message}`);
  }
  if (!process.argv.includes("--no-build")) buildIfStale(childEnv);

  // The server's fds 1 and 2 carry native output that can quote prompts: it
  // is filtered here; the app's own output goes straight to ours as fds 3
  // and 4 (scripts/app-output.mjs).
  const server = spawn(process.execPath, [path.join(root, "scripts", "server.mjs")], {
    cwd: root,
    env: { ...childEnv, APP_OUTPUT_FDS: "3,4" },
    stdio: ["ignore", "pipe", "pipe", 1, 2],
  });
  for (const stream of [server.stdout!, server.stderr!]) filterNativeOutput(stream);
  // The first signal is relayed as SIGUSR2, which the server reads as "stop gracefully" and never as "now":
  // a signal sent to the whole process group (Ctrl-C, `kill -- -pgid`) reaches the server by itself too, and on
  // a loaded machine this relay can follow seconds later, where a second SIGINT/SIGTERM means "exit at once".
  // Later signals are relayed as they are (Ctrl-C again: stop now).
  let relayed = 0;
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(relayed++ === 0 ? "SIGUSR2" : signal));
  server.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

void main();
