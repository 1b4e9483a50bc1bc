import { execFileSync } from "node:child_process";
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
