import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";

/** This machine's memory, bytes. */
export interface MachineMemory {
  ram: { totalBytes: number; availableBytes: number };
  /** The largest GPU's memory (nvidia-smi), or null when none is found. */
  vram: { name: string; totalBytes: number; freeBytes: number } | null;
}

/** What running a model needs and where it fits. */
export interface ModelFit {
  /** Weights (model + projector) + KV cache at the context size + compute buffers, bytes. */
  needBytes: number;
  /** `vram`: all of it fits on the GPU; `ram`: in memory (CPU, or part offloaded); `no`: more than this machine's RAM. */
  fits: "vram" | "ram" | "no";
}

/** MemAvailable from /proc/meminfo (what can be used without swapping), else os.freemem(). */
function availableRam(): number {
  try {
    const kb = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))?.[1];
    if (kb) return Number(kb) * 1024;
  } catch {
    // Not Linux.
  }
  return os.freemem();
}

let vramCache: { at: number; value: MachineMemory["vram"] } | null = null;

function nvidiaVram(): MachineMemory["vram"] {
  if (vramCache && Date.now() - vramCache.at < 10_000) return vramCache.value;
  let value: MachineMemory["vram"] = null;
  try {
    const out = execFileSync("nvidia-smi", ["--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits"], { encoding: "utf8", timeout: 3000, stdio: ["ignore", "pipe", "ignore"] });
    for (const line of out.trim().split("\n")) {
      const [name = "GPU", total, free] = line.split(",").map((x) => x.trim());
      const gpu = { name, totalBytes: Number(total) * 2 ** 20, freeBytes: Number(free) * 2 ** 20 };
      if (Number.isFinite(gpu.totalBytes) && (!value || gpu.totalBytes > value.totalBytes)) value = gpu;
    }
  } catch {
    value = null;
  }
  vramCache = { at: Date.now(), value };
  return value;
}

export function machineMemory(): MachineMemory {
  return { ram: { totalBytes: os.totalmem(), availableBytes: availableRam() }, vram: nvidiaVram() };
}

/**
 * Where a model of `weightBytes` fits at `contextSize` tokens. An estimate:
 * the weights as stored, the KV cache (f16) for the context, and about 10%
 * plus 256 MiB for compute buffers and the projector's activations. RAM is
 * judged against the total, since the model it replaces is unloaded first.
 */
export function modelFit({ weightBytes, kvBytesPerToken, contextSize, memory }: { weightBytes: number; kvBytesPerToken: number | null; contextSize: number; memory: MachineMemory }): ModelFit {
  const needBytes = Math.round(weightBytes * 1.1 + (kvBytesPerToken ?? 0) * contextSize + 256 * 2 ** 20);
  const fits = memory.vram && needBytes <= memory.vram.totalBytes ? "vram" : needBytes <= memory.ram.totalBytes * 0.9 ? "ram" : "no";
  return { needBytes, fits };
}
