import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

/**
 * Integration files that run one at a time, after the rest: those that time
 * things with a bound (a slot freed within a second, leases, sign-in delays,
 * other requests answered during an import) and those that start llama-server
 * for long (two of them at once broke a llama-server connection mid-answer in
 * 2 of 3 full runs on two cores, cause not found; a few short files in the
 * parallel group start it too, beside others). The rest run
 * cores − 1 (at least two) at a time, even on two cores: most of their time
 * is spent waiting for servers and models, not computing. npm test runs the
 * PostgreSQL pass beside these, itself one file at a time: their bounds have
 * seconds of slack, and the pass's files do the same kinds of work.
 */
const SERIAL = [
  "stopping-answers",
  "two-instances",
  "auth",
  "demo-model",
  "engine-conformance",
  "llama-server-app",
  "llama-server-engine",
  "model-families",
  "private-logs",
  "settings",
  // Times how long other requests wait during an import.
  "stalls-and-statuses",
  // Starts llama-server (the hand-over from the in-process engine).
  "auto-upgrade",
  // Audio replicas on both engines (starts llama-server).
  "media-native-audio",
  // Two llama-servers behind the remote engine, 32 answers at once.
  "remote-crossing",
  // Two instances; answers joined and stopped mid-way (issue 24's resumable answers).
  "resumable-answers",
  // Issue 27's structured output, tools, logprobs and n on llama-server.
  "openai-structured-llama-server",
  // The Responses and Ollama APIs on llama-server (#27).
  "llama-server-apis",
].map((f) => `tests/integration/${f}.test.ts`);

/**
 * Files that time something against a quiet machine and run last, alone: the
 * answer timed with and without captions being written (a 10 % bound).
 * npm test runs the PostgreSQL pass beside the serial files above, never
 * beside these.
 */
const ALONE = ["images-caption-delay"].map((f) => `tests/integration/${f}.test.ts`);

const integration = {
  environment: "node" as const,
  globalSetup: ["tests/integration/global-setup.ts"],
  testTimeout: 120_000,
  hookTimeout: 300_000,
};

const alias = { "@": path.resolve(import.meta.dirname), "server-only": path.resolve(import.meta.dirname, "tests/helpers/empty.ts") };

export default defineConfig({
  test: {
    projects: [
      {
        resolve: { alias },
        test: { name: "unit", include: ["tests/unit/**/*.test.ts"], environment: "node" },
      },
      {
        resolve: { alias },
        test: {
          ...integration,
          name: "integration",
          include: ["tests/integration/**/*.test.ts"],
          exclude: [...SERIAL, ...ALONE],
          // INTEGRATION_WORKERS: npm test runs the PostgreSQL pass with one, beside the serial files.
          maxWorkers: Number(process.env.INTEGRATION_WORKERS) || Math.max(2, os.availableParallelism() - 1),
          sequence: { groupOrder: 1 },
        },
      },
      {
        resolve: { alias },
        test: { ...integration, name: "integration-serial", include: SERIAL, maxWorkers: 1, sequence: { groupOrder: 2 } },
      },
      {
        resolve: { alias },
        test: { ...integration, name: "integration-alone", include: ALONE, maxWorkers: 1, sequence: { groupOrder: 3 } },
      },
    ],
  },
});
