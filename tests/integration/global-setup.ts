import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { dropTestDatabases, testPostgresUrl } from "../helpers/database";
import { startServer } from "../helpers/server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

/**
 * One real server (real database, real route handlers) shared by the
 * integration files. The database is SQLite, or PostgreSQL when
 * TEST_DATABASE_URL is set (npm run test:integration:pg).
 */
export default async function setup(project: TestProject) {
  // Names this run's PostgreSQL databases (the test files' processes inherit it).
  process.env.LVC_TEST_RUN ??= Math.random().toString(36).slice(2, 8);
  if (testPostgresUrl()) console.log(`integration tests on PostgreSQL, one database per data directory (run ${process.env.LVC_TEST_RUN})`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-it-"));
  const server = await startServer({ dataDir, env: { TRUST_PROXY: "true", UPLOAD_MAX_BYTES: String(2 * 1024 * 1024), IMPORT_MAX_BYTES: String(8 * 1024 * 1024) } });
  project.provide("baseUrl", server.url);
  return async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
    await dropTestDatabases();
  };
}
