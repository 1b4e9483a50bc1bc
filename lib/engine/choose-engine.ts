import fs from "node:fs";
import type { Env } from "@/lib/env-schema";
import type { EngineOptions } from "./engine";
import { EngineError } from "./errors";
import { findLlamaServer, readBuildInfo, type BuildInfo } from "./llama-server/binary";
import type { EngineKind } from "./types";

export interface EngineChoice {
  kind: EngineKind;
  /** Plain words: why this engine (shown by /api/health and the model badge). */
  reason: string;
  llamaServer?: EngineOptions["llamaServer"];
}

/**
 * ENGINE=auto|in-process|llama-server|remote → the engine to run. `auto`
 * is remote when ENGINE_URL is set, else a supervised llama-server when one
 * is built (`npm run engine:build`) or given (LLAMA_SERVER_PATH), else
 * in-process (the zero-setup default).
 */
export function chooseEngine(
  e: Pick<Env, "ENGINE" | "ENGINE_URL" | "LLAMA_SERVER_PATH">,
  server = findLlamaServer(e.LLAMA_SERVER_PATH),
  build: BuildInfo | null = server?.source === "engine:build" ? readBuildInfo() : null,
): EngineChoice {
  const serverChoice = (why: string): EngineChoice => {
    if (!server) {
      throw new EngineError("load_failed", "ENGINE=llama-server, but no llama-server was found: run `npm run engine:build` or set LLAMA_SERVER_PATH.");
    }
    if (server.source === "LLAMA_SERVER_PATH" && !fs.existsSync(server.path)) {
      throw new EngineError("load_failed", "LLAMA_SERVER_PATH names a file that does not exist.");
    }
    const built = build ? `built by npm run engine:build (CPU${build.gpu.map((g) => ` + ${g}`).join("")})` : "from LLAMA_SERVER_PATH";
    return { kind: "llama-server", reason: `${why}: llama-server ${built}`, llamaServer: { binary: server.path, gpuBuild: build?.gpu ?? ["gpu"] } };
  };
  switch (e.ENGINE) {
    case "remote":
      if (!e.ENGINE_URL?.length) throw new EngineError("load_failed", "ENGINE=remote needs ENGINE_URL (one or more server URLs).");
      return { kind: "remote", reason: "ENGINE=remote" };
    case "llama-server":
      return serverChoice("ENGINE=llama-server");
    case "in-process":
      return { kind: "in-process", reason: "ENGINE=in-process" };
    case "auto":
      if (e.ENGINE_URL?.length) return { kind: "remote", reason: "ENGINE=auto: ENGINE_URL is set" };
      if (server) return serverChoice("ENGINE=auto");
      return { kind: "in-process", reason: "ENGINE=auto: no llama-server built (npm run engine:build makes one, for llama-server speed)" };
  }
}
