import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { TestProject } from "vitest/node";
import { startServer } from "../helpers/server";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

/** One real server (real SQLite file, real route handlers) shared by the integration files. */
export default async function setup(project: TestProject) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-it-"));
  const server = await startServer({ dataDir, env: { TRUST_PROXY: "true", UPLOAD_MAX_BYTES: String(2 * 1024 * 1024), IMPORT_MAX_BYTES: String(8 * 1024 * 1024) } });
  project.provide("baseUrl", server.url);
  return async () => {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
}
