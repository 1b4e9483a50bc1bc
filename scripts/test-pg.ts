// npm run test:integration:pg — the whole integration suite against
// PostgreSQL: starts a private, throwaway PostgreSQL server (scripts/pg-server.ts),
// runs the integration projects (`vitest run --project integration --project integration-serial --project integration-alone`) with TEST_DATABASE_URL set to it
// (every server and database test then gets a fresh database of its own,
// tests/helpers/database.ts), and stops it. Extra arguments go to vitest:
//   npm run test:integration:pg -- tests/integration/db-repository.test.ts
// Without PostgreSQL installed the pass is skipped with a message (exit 0),
// unless REQUIRE_POSTGRES=1 (CI sets it), which makes that a failure.
// TEST_DATABASE_URL already set (an admin URL of a server of yours): used as it is.
// Without arguments, the files that never open a database (they load models
// and engines only), and those about the engine, the log and HTTP handling,
// are left out: the SQLite pass runs them, and a second run would prove
// nothing about PostgreSQL.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { findPostgresBin, POSTGRES_MISSING, startThrowawayPostgres } from "./pg-server";

/** Integration files with no server and no database: models, engines and encoders alone. */
const DATABASE_FREE = ["background-model", "catalog", "clip", "demo-model", "engine-conformance", "llama-server-engine", "model-families", "remote-crossing", "sqlite-migrations"];
/**
 * Files whose subject is the engine, the log or HTTP handling: they touch the
 * database only through the same repository calls the other files cover on
 * PostgreSQL, so a second run proves nothing new and costs CI about 105 s.
 */
const ENGINE_OR_HTTP = [
  "images-caption-delay",
  "model-picker",
  "private-logs",
  "llama-server-app",
  "http-security",
  "body-limits",
  "family-app",
  // The engine's hand-over to llama-server, native audio, Continue's cached state.
  "auto-upgrade",
  "media-native-audio",
  "continue-answer",
  // Decoding each kind of media and its limits: their rows are the same attachment rows
  // media-video.test.ts and media-archive.test.ts cover on PostgreSQL.
  "media-audio",
  "media-pdf",
  "media-data",
  "media-limits",
  "media-api",
  // Reading an upload with progress lines (HTTP handling), and the remote engine's busy servers:
  // no database call of their own (about 45 s of CI).
  "media-upload-progress",
  "remote-busy",
  // Issue 27's API shapes (structured output, tools, /v1/responses, /ollama) translate requests for
  // the engine; what they store goes through createChatCompletion's saveExchange, which
  // openai-api.test.ts covers on PostgreSQL, and api-key-usage.test.ts runs there for the usage rows.
  "openai-structured",
  "openai-structured-llama-server",
  "openai-responses",
  "ollama-api",
  "llama-server-apis",
  // Decoders, model files and the model's own titles: their rows are written by the same
  // repository calls as uploads, export-import and chat, which do run on PostgreSQL (≈140 s).
  "media-archive",
  "media-video",
  "titles",
  "images-embed-waits",
  "models-pull",
  "models-pull-api",
  "models-pull-installed",
  // LoRA adapters (pairing with their base, loading, answers with and without them) and the local
  // image generator: engine and model work. lora-api.test.ts (the adapters saved in an answer's
  // stats, per conversation) and chat-imagegen.test.ts (a generated image in the library) run on
  // PostgreSQL (≈20 s of CI).
  "lora-adapters",
  "lora-chart-skill",
  "imagegen-local",
  "imagegen-app",
];

const root = path.resolve(import.meta.dirname, "..");

function main() {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stop = () => {};
  if (!adminUrl) {
    const bin = findPostgresBin();
    if (!bin) {
      if (process.env.REQUIRE_POSTGRES === "1") {
        console.error(`✖ ${POSTGRES_MISSING}, and REQUIRE_POSTGRES=1: the PostgreSQL pass of the integration tests must run.`);
        process.exit(1);
      }
      console.warn(`! ${POSTGRES_MISSING}: the PostgreSQL pass of the integration tests is skipped (REQUIRE_POSTGRES=1 makes this a failure).`);
      return;
    }
    let server: ReturnType<typeof startThrowawayPostgres>;
    try {
      server = startThrowawayPostgres({ bin });
    } catch (err) {
      console.error(`✖ ${(err as Error).message}`);
      process.exit(1);
    }
    console.log(`• Throwaway ${server.version} for the PostgreSQL pass`);
    adminUrl = server.adminUrl;
    stop = server.stop;
  }
  const started = Date.now();
  const args = process.argv.slice(2);
  // The files to run, named one by one: a project's own `exclude` (the serial files) replaces
  // vitest's --exclude on the command line, so excluding there would run everything.
  const skip = new Set([...DATABASE_FREE, ...ENGINE_OR_HTTP].map((f) => `${f}.test.ts`));
  const files = args.length
    ? args
    : fs
        .readdirSync(path.join(root, "tests", "integration"))
        .filter((f) => f.endsWith(".test.ts") && !skip.has(f))
        .map((f) => `tests/integration/${f}`);
  const child = spawn(path.join(root, "node_modules", ".bin", "vitest"), ["run", "--project", "integration", "--project", "integration-serial", "--project", "integration-alone", ...files], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, TEST_DATABASE_URL: adminUrl },
  });
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => {
    stop();
    console.log(`• PostgreSQL pass: ${code === 0 ? "passed" : "FAILED"} in ${Math.round((Date.now() - started) / 1000)} s`);
    process.exit(code ?? (signal ? 1 : 0));
  });
}

main();
