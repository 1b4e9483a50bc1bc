import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";

/** Shared libraries the dynamic loader can find (from `ldconfig -p` and LD_LIBRARY_PATH). */
export function findSharedLibrary(name: string): boolean {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean)) {
    if (fs.existsSync(`${dir}/${name}`)) return true;
  }
  try {
    const out = execFileSync("ldconfig", ["-p"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return out.includes(name);
  } catch {
    return ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/local/cuda/lib64", "/usr/lib"].some((d) => fs.existsSync(`${d}/${name}`));
  }
}

/** What the machine has, as far as GPU offload goes (injectable for tests). */
export interface GpuProbe {
  /** An NVIDIA kernel driver is loaded (/proc/driver/nvidia/version). */
  nvidiaDriver: boolean;
  hasLibrary: (name: string) => boolean;
  /** Folders where the NVIDIA user-space driver libraries live but the loader does not look. */
  nvidiaLibDirs: string[];
  /** NVIDIA's Vulkan ICD manifest, if one exists on disk. */
  nvidiaIcd: string | null;
}

export function probeGpu(): GpuProbe {
  const libDirs = ["/usr/local/nvidia/lib64", "/usr/local/nvidia/lib", "/usr/lib/x86_64-linux-gnu/nvidia/current"].filter((d) =>
    fs.existsSync(`${d}/libGLX_nvidia.so.0`),
  );
  const icd = ["/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json", "/usr/share/vulkan/icd.d/nvidia_icd.json", "/etc/vulkan/icd.d/nvidia_icd.json"].find((f) =>
    fs.existsSync(f),
  );
  return { nvidiaDriver: fs.existsSync("/proc/driver/nvidia/version"), hasLibrary: findSharedLibrary, nvidiaLibDirs: libDirs, nvidiaIcd: icd ?? null };
}

/**
 * Why a GPU variant of the in-process binding cannot run here, in plain
 * words with the fix — or null when nothing is known to be missing.
 * `foundNoGpu` is true when the variant loaded but listed no GPU device.
 */
export function explainGpuProblem(variant: "cuda" | "vulkan", probe: GpuProbe, foundNoGpu = false): string | null {
  if (variant === "cuda") {
    const missing = ["libcudart.so.12", "libcublas.so.12"].filter((l) => !probe.hasLibrary(l));
    if (!missing.length) return foundNoGpu ? "cuda: the variant loaded but found no GPU (is the NVIDIA driver loaded? nvidia-smi should list the card)" : null;
    const has13 = probe.hasLibrary("libcudart.so.13");
    return (
      `cuda: ${missing.join(", ")} not found — the in-process binding's CUDA build needs the CUDA 12 runtime` +
      (has13 ? " and this machine has CUDA 13 only" : "") +
      "; install CUDA 12's cudart and cublas, or run `npm run engine:build` (it compiles llama-server against the CUDA toolkit that is here)"
    );
  }
  if (!probe.hasLibrary("libvulkan.so.1")) {
    return "vulkan: libvulkan.so.1 (the Vulkan loader) not found — apt-get install libvulkan1";
  }
  if (!foundNoGpu) return null;
  if (probe.nvidiaDriver && !probe.hasLibrary("libGLX_nvidia.so.0")) {
    const dir = probe.nvidiaLibDirs[0];
    return (
      "vulkan: the variant loaded but found no GPU — the NVIDIA driver is loaded but its Vulkan driver library libGLX_nvidia.so.0 is not on the loader path" +
      (dir ? `; add ${dir} to LD_LIBRARY_PATH` : "; install the NVIDIA driver's user-space libraries (libnvidia-gl)") +
      (probe.nvidiaIcd ? ` and set VK_DRIVER_FILES=${probe.nvidiaIcd}` : "")
    );
  }
  return "vulkan: the variant loaded but found no GPU (no Vulkan driver for this card; `vulkaninfo --summary` from vulkan-tools lists what the loader sees)";
}

// ---------------------------------------------------------------------------
// llama-server with node-llama-cpp's prebuilt GPU backends (the linked build)

/** Where CUDA runtimes and NVIDIA's user-space driver libraries are installed when the loader's own paths miss them. */
const GPU_LIBRARY_DIRS = [
  "/usr/local/cuda/lib64",
  "/usr/local/cuda/targets/x86_64-linux/lib",
  "/usr/local/nvidia/lib64",
  "/usr/local/nvidia/lib",
  "/usr/lib/x86_64-linux-gnu/nvidia/current",
];

/** Folders from GPU_LIBRARY_DIRS (and /usr/local/cuda-*) that hold a CUDA runtime or NVIDIA driver library. */
export function gpuLibraryDirs(): string[] {
  let versioned: string[] = [];
  try {
    versioned = fs
      .readdirSync("/usr/local")
      .filter((d) => /^cuda-\d+/.test(d))
      .sort()
      .reverse()
      .flatMap((d) => [`/usr/local/${d}/lib64`, `/usr/local/${d}/targets/x86_64-linux/lib`]);
  } catch {
    /* no /usr/local */
  }
  return [...GPU_LIBRARY_DIRS, ...versioned].filter((d) => {
    try {
      return fs.readdirSync(d).some((f) => /^lib(cudart|cublas|cuda|GLX_nvidia)\.so\.\d+/.test(f));
    } catch {
      return false;
    }
  });
}

/**
 * Environment for a llama-server whose GPU backends are node-llama-cpp's
 * prebuilt ones: the folders that hold the CUDA runtime and the NVIDIA
 * driver's libraries go on LD_LIBRARY_PATH (the backend is dlopen()ed, so
 * only that path reaches its dependencies), and NVIDIA's Vulkan driver
 * manifest is named when the loader would not find it. Nothing a user set
 * is replaced.
 */
export function serverGpuEnv(libDirs: string[], icd: string | null, env: Record<string, string | undefined> = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  const have = (env.LD_LIBRARY_PATH ?? "").split(":").filter(Boolean);
  const add = libDirs.filter((d) => !have.includes(d));
  if (add.length) out.LD_LIBRARY_PATH = [...have, ...add].join(":");
  if (icd && !env.VK_DRIVER_FILES && !env.VK_ICD_FILENAMES && !icd.startsWith("/usr/share/") && !icd.startsWith("/etc/")) out.VK_DRIVER_FILES = icd;
  return out;
}

/**
 * Why a llama-server built with node-llama-cpp's prebuilt GPU backends will
 * run on the CPU here, in plain words with the fix, or null when nothing is
 * known to be missing. `hasLibrary` should look in the folders
 * `serverGpuEnv` adds too.
 */
export function explainServerGpu(gpuBuild: string[], probe: GpuProbe): string | null {
  if (!gpuBuild.length) return "llama-server was built without GPU backends (ENGINE_BUILD_GPU=cpu)";
  const reasons: string[] = [];
  if (gpuBuild.includes("cuda")) {
    if (!probe.nvidiaDriver && !probe.hasLibrary("libcuda.so.1")) reasons.push("CUDA: no NVIDIA driver (no /proc/driver/nvidia, no libcuda.so.1)");
    else {
      const v13 = ["libcudart.so.13", "libcublas.so.13"].filter((l) => !probe.hasLibrary(l));
      const v12 = ["libcudart.so.12", "libcublas.so.12"].filter((l) => !probe.hasLibrary(l));
      if (!probe.hasLibrary("libcuda.so.1")) reasons.push("CUDA: the NVIDIA driver is loaded but its libcuda.so.1 is not on the loader path (install the driver's user-space libraries)");
      else if (v13.length && v12.length)
        reasons.push(`CUDA: ${v13.join(", ")} not found — the prebuilt CUDA backend needs the CUDA 13 runtime (apt-get install cuda-cudart-13-0 libcublas-13-0, from NVIDIA's repository), or CUDA 12's with npm run engine:build run again`);
    }
  }
  if (gpuBuild.includes("vulkan")) {
    if (!probe.hasLibrary("libvulkan.so.1")) reasons.push("Vulkan: libvulkan.so.1 (the Vulkan loader) not found — apt-get install libvulkan1");
    else if (probe.nvidiaDriver && !probe.hasLibrary("libGLX_nvidia.so.0") && !probe.nvidiaLibDirs.length)
      reasons.push("Vulkan: the NVIDIA driver is loaded but its Vulkan library libGLX_nvidia.so.0 is not installed (libnvidia-gl)");
  }
  return reasons.length ? reasons.join("; ") : null;
}

/** A GPU as `llama-server --list-devices` prints it. */
export interface GpuDevice {
  /** ggml's name: CUDA0, Vulkan0 … */
  name: string;
  /** The card: "NVIDIA H100 80GB HBM3". */
  description: string;
  totalMiB: number;
  freeMiB: number;
}

/** Parses `llama-server --list-devices` ("  CUDA0: NVIDIA H100 80GB HBM3 (81080 MiB, 80500 MiB free)"). */
export function parseDeviceList(text: string): GpuDevice[] {
  const out: GpuDevice[] = [];
  for (const m of text.matchAll(/^\s*(\S+): (.*) \((\d+) MiB, (\d+) MiB free\)\s*$/gm)) {
    out.push({ name: m[1]!, description: m[2]!, totalMiB: Number(m[3]), freeMiB: Number(m[4]) });
  }
  return out;
}

/** What a running llama-server's log says about offload: the device the model went to, its free memory then, and the layers offloaded. */
export function parseOffloadLog(lines: string[]): { device?: string; description?: string; freeMiB?: number; layers?: number; totalLayers?: number } {
  const out: ReturnType<typeof parseOffloadLog> = {};
  for (const line of lines) {
    // llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H100 80GB HBM3) (0000:00:05.0) - 80500 MiB free
    const dev = /using device (\S+) \((.*?)\)(?: \([^)]*\))? - (\d+) MiB free/.exec(line);
    if (dev) Object.assign(out, { device: dev[1], description: dev[2], freeMiB: Number(dev[3]) });
    const off = /offloaded (\d+)\/(\d+) layers to GPU/.exec(line);
    if (off) Object.assign(out, { layers: Number(off[1]), totalLayers: Number(off[2]) });
  }
  return out;
}

export interface OffloadInput {
  /** GPUs llama-server can use (empty: none). */
  devices: GpuDevice[];
  /** Layers asked for: "auto" (as many as fit) or a number (0 = CPU only). */
  requested: "auto" | number;
  /** Size of the language model's file. */
  llmBytes: number;
  /** Size of the projector's file (0 without one). */
  mmprojBytes: number;
  /** Memory left free on the device, MiB (llama.cpp's --fit default: 1024). */
  marginMiB?: number;
}

export interface OffloadPlan {
  /** llama-server arguments: --n-gpu-layers, --fit, --fit-target, --no-mmproj-offload. */
  args: string[];
  mmprojOnGpu: boolean;
  device: GpuDevice | null;
  /** In plain words, for the log and /api/health. */
  reason: string;
}

const MiB = 1024 * 1024;

/**
 * Sizes the offload. The layers are left to llama.cpp's own fitting
 * (`-ngl auto --fit on`): it measures the model's and the context's real
 * buffers against the device's free memory and offloads as many layers as
 * fit, keeping `--fit-target` MiB free. The projector is loaded after the
 * language model, so its room is added to that margin when it goes on the
 * GPU: when the whole model and the projector fit, or when the projector
 * takes at most a quarter of the free memory (an image encoded on the CPU is
 * many times slower; a few layers fewer cost less).
 */
export function planOffload({ devices, requested, llmBytes, mmprojBytes, marginMiB = 1024 }: OffloadInput): OffloadPlan {
  const cpu = (reason: string): OffloadPlan => ({
    args: ["--n-gpu-layers", "0", ...(mmprojBytes ? ["--no-mmproj-offload"] : [])],
    mmprojOnGpu: false,
    device: null,
    reason,
  });
  if (requested === 0) return cpu("CPU: GPU offload is off (0 layers asked for)");
  const device = [...devices].sort((a, b) => b.freeMiB - a.freeMiB)[0];
  if (!device) return cpu("CPU: llama-server sees no GPU");
  // Weights plus what the encoder's compute buffers take for a large image.
  const projMiB = mmprojBytes ? Math.ceil((mmprojBytes * 1.25) / MiB) + 512 : 0;
  const llmMiB = Math.ceil(llmBytes / MiB);
  const everything = llmMiB + projMiB + marginMiB <= device.freeMiB;
  const mmprojOnGpu = Boolean(mmprojBytes) && projMiB + marginMiB <= device.freeMiB && (everything || projMiB <= device.freeMiB / 4);
  const target = marginMiB + (mmprojOnGpu ? projMiB : 0);
  const where = `${device.name} (${device.description}, ${device.freeMiB} MiB free)`;
  const proj = mmprojBytes ? (mmprojOnGpu ? "; the projector on the GPU" : `; the projector on the CPU (it needs about ${projMiB} MiB)`) : "";
  const layers = requested === "auto" ? ["--n-gpu-layers", "auto", "--fit", "on", "--fit-target", String(target)] : ["--n-gpu-layers", String(requested), "--fit", "off"];
  return {
    args: [...layers, ...(mmprojBytes && !mmprojOnGpu ? ["--no-mmproj-offload"] : [])],
    mmprojOnGpu,
    device,
    reason:
      requested === "auto"
        ? `${where}: ${everything ? "every layer" : "as many layers as fit"} with the context, ${target} MiB kept free${proj}`
        : `${where}: ${requested} layers as asked${proj}`,
  };
}

/** Devices a llama-server binary can offload to (`--list-devices`); empty when none or when it cannot tell. */
export function listServerDevices(binary: string, env: NodeJS.ProcessEnv): GpuDevice[] {
  const r = spawnSync(binary, ["--list-devices"], { encoding: "utf8", timeout: 30_000, env });
  return r.status === 0 ? parseDeviceList(r.stdout ?? "") : [];
}

/**
 * llama-server's offload arguments for `gpuLayers` (0: CPU; 999 or more:
 * "auto", as many as fit; else that number), from the devices the binary
 * sees. Looks for devices only where a GPU driver or Vulkan loader exists,
 * so a CPU-only machine starts no extra process.
 */
export function serverOffload(o: { binary: string; modelPath: string; mmprojPath?: string; gpuLayers: number }, probe: GpuProbe = probeGpu()): OffloadPlan {
  const size = (f?: string) => {
    try {
      return f ? fs.statSync(f).size : 0;
    } catch {
      return 0;
    }
  };
  const requested = o.gpuLayers >= 999 ? "auto" : Math.max(0, o.gpuLayers);
  const input = { requested, llmBytes: size(o.modelPath), mmprojBytes: size(o.mmprojPath) } as const;
  if (requested === 0) return planOffload({ ...input, devices: [] });
  if (process.platform !== "linux") {
    // Metal and the rest: no probe here; llama-server offloads what it can.
    return { args: ["--n-gpu-layers", String(o.gpuLayers)], mmprojOnGpu: Boolean(o.mmprojPath), device: null, reason: `${o.gpuLayers} layers asked for` };
  }
  const maybeGpu = probe.nvidiaDriver || probe.hasLibrary("libvulkan.so.1");
  const devices = maybeGpu ? listServerDevices(o.binary, { ...process.env, ...serverGpuEnv(gpuLibraryDirs(), probe.nvidiaIcd) }) : [];
  return planOffload({ ...input, devices });
}
