import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Where `npm run engine:build` puts llama-server and what it records about
 * the build. Paths are relative to the working directory (the repository
 * root under `npm start`, `npm test` and the scripts).
 */
export const LLAMA_CPP_DIR = () => path.resolve(/*turbopackIgnore: true*/ process.cwd(), ".cache", "llama.cpp");

export interface BuildInfo {
  /** llama.cpp commit of the source bundled in node-llama-cpp. */
  commit: string;
  /** ggml backends compiled in besides the CPU: "cuda", "vulkan". */
  gpu: string[];
  /** CMake options the build used (the idempotence key together with the commit). */
  options: string[];
  /** `cpuFingerprint()` of the machine that built it: native code may not run on another CPU. */
  cpu: string;
  seconds: number;
  bytes: number;
  builtAt: string;
}

/** The CPU's model and feature flags, hashed (a GGML_NATIVE build is only safe on the same). */
export function cpuFingerprint(): string {
  let text = "";
  try {
    const info = fs.readFileSync("/proc/cpuinfo", "utf8");
    text = [/^model name\s*:.*$/m, /^flags\s*:.*$/m].map((re) => re.exec(info)?.[0] ?? "").join("\n");
  } catch {
    /* not Linux: the check is skipped */
  }
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

export const builtServerPath = () => path.join(LLAMA_CPP_DIR(), "bin", "llama-server");
const infoPath = () => path.join(LLAMA_CPP_DIR(), "bin", "build-info.json");

/**
 * The recorded build, or null when llama-server has not been built here —
 * or was built on a different CPU (a copied `.cache`), where its native code
 * could crash with an illegal instruction.
 */
export function readBuildInfo(): BuildInfo | null {
  try {
    if (!fs.existsSync(builtServerPath())) return null;
    const info = JSON.parse(fs.readFileSync(infoPath(), "utf8")) as BuildInfo;
    return info.cpu === cpuFingerprint() ? info : null;
  } catch {
    return null;
  }
}

export function writeBuildInfo(info: BuildInfo): void {
  fs.writeFileSync(infoPath(), `${JSON.stringify(info, null, 2)}\n`);
}

/**
 * The llama-server to supervise: `LLAMA_SERVER_PATH` when given, else the
 * one `npm run engine:build` made, else null.
 */
export function findLlamaServer(explicit?: string): { path: string; source: "LLAMA_SERVER_PATH" | "engine:build" } | null {
  if (explicit) return { path: explicit, source: "LLAMA_SERVER_PATH" };
  return readBuildInfo() ? { path: builtServerPath(), source: "engine:build" } : null;
}
