import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * Where `npm run engine:build` puts llama-server and what it records about
 * the build. Paths are relative to the working directory (the repository
 * root under `npm start`, `npm test` and the scripts).
 */
export const LLAMA_CPP_DIR = () => {
  // Apart, by a computed key: inside one `path.resolve(...)` Turbopack folded `process.env.LLAMA_CPP_DIR`
  // to its value at build time (none), and the app ignored the variable at run time.
  const dir = process.env[DIR_VARIABLE];
  return dir ? path.resolve(/*turbopackIgnore: true*/ process.cwd(), dir) : path.resolve(/*turbopackIgnore: true*/ process.cwd(), ".cache", "llama.cpp");
};
const DIR_VARIABLE = "LLAMA_CPP_DIR";

export interface BuildInfo {
  /** llama.cpp commit of the source bundled in node-llama-cpp. */
  commit: string;
  /** ggml backends compiled in besides the CPU: "cuda", "vulkan". */
  gpu: string[];
  /** CMake options the build used (the idempotence key together with the commit). */
  options: string[];
  /**
   * `cpuFingerprint()` of the machine that built it: native code may not run
   * on another CPU. "any" for a linked build (ggml picks its CPU code at run time).
   */
  cpu: string;
  /** "linked": llama-server + mtmd against node-llama-cpp's prebuilt libraries; "source" (or absent): all of llama.cpp. */
  mode?: "linked" | "source";
  /** Linked builds: the libraries beside the binary it needs (checked before it is used). */
  libraries?: string[];
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
    // A linked build is only as good as its libraries (hard links or copies beside it).
    const bin = path.dirname(builtServerPath());
    if (info.libraries?.some((lib) => !fs.existsSync(path.join(bin, lib)))) return null;
    return info.cpu === "any" || info.cpu === cpuFingerprint() ? info : null;
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

/**
 * node-llama-cpp's prebuilt libraries for this platform, and the GPU
 * backends it ships beside them: the folder names of its optional packages
 * (`@node-llama-cpp/linux-x64`, `-cuda`, `-cuda-ext`, `-vulkan`). Null
 * members are packages npm did not install (another platform).
 */
export function prebuiltLibraries(root = process.cwd()): {
  cpu: string | null;
  cuda: string | null;
  /** The CUDA 12 build of the CUDA backend (the main one links CUDA 13). */
  cuda12: string | null;
  vulkan: string | null;
  /** The llama.cpp release they were built from (`_nlcBuildMetadata.json`). */
  release: string | null;
} {
  const platform = `${process.platform}-${process.arch}`;
  const pkg = (suffix: string, sub = "") => {
    const dir = path.join(root, "node_modules", "@node-llama-cpp", `${platform}${suffix}`, "bins", `${platform}${suffix.replace("-ext", "")}`, sub);
    return fs.existsSync(dir) ? dir : null;
  };
  const cpu = pkg("");
  let release: string | null = null;
  try {
    if (cpu) release = (JSON.parse(fs.readFileSync(path.join(cpu, "_nlcBuildMetadata.json"), "utf8")) as { buildOptions?: { llamaCpp?: { release?: string } } }).buildOptions?.llamaCpp?.release ?? null;
  } catch {
    /* no metadata */
  }
  const cuda = pkg("-cuda");
  const cuda12 = pkg("-cuda-ext", "fallback");
  const vulkan = pkg("-vulkan");
  return {
    cpu,
    cuda: cuda && fs.existsSync(path.join(cuda, "libggml-cuda.so")) ? cuda : null,
    cuda12: cuda12 && fs.existsSync(path.join(cuda12, "libggml-cuda.so")) ? cuda12 : null,
    vulkan: vulkan && fs.existsSync(path.join(vulkan, "libggml-vulkan.so")) ? vulkan : null,
    release,
  };
}
