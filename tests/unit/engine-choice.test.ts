import { describe, expect, it } from "vitest";
import { chooseEngine } from "@/lib/engine/choose-engine";
import { explainGpuProblem, type GpuProbe } from "@/lib/engine/gpu";
import type { BuildInfo } from "@/lib/engine/llama-server/binary";

const build: BuildInfo = { commit: "abc", gpu: ["cuda"], options: [], cpu: "x", seconds: 1, bytes: 1, builtAt: "now" };
const built = { path: "/repo/.cache/llama.cpp/bin/llama-server", source: "engine:build" as const };
const base = { ENGINE: "auto" as const, ENGINE_URL: undefined, LLAMA_SERVER_PATH: undefined };

describe("chooseEngine", () => {
  it("auto: remote when ENGINE_URL is set, else a built llama-server, else in-process", () => {
    expect(chooseEngine({ ...base, ENGINE_URL: ["http://a:1"] }, built, build)).toMatchObject({ kind: "remote", reason: "ENGINE=auto: ENGINE_URL is set" });
    expect(chooseEngine(base, built, build)).toMatchObject({
      kind: "llama-server",
      reason: "ENGINE=auto: llama-server built by npm run engine:build (CPU + cuda)",
      llamaServer: { binary: built.path, gpuBuild: ["cuda"] },
    });
    expect(chooseEngine(base, null, null)).toMatchObject({ kind: "in-process", reason: expect.stringContaining("npm run engine:build") });
  });

  it("explicit choices win, and a missing llama-server or URL is a clear error", () => {
    expect(chooseEngine({ ...base, ENGINE: "in-process" }, built, build).kind).toBe("in-process");
    expect(() => chooseEngine({ ...base, ENGINE: "llama-server" }, null, null)).toThrow(/npm run engine:build.*LLAMA_SERVER_PATH/);
    expect(() => chooseEngine({ ...base, ENGINE: "remote" }, built, build)).toThrow(/ENGINE=remote needs ENGINE_URL/);
    expect(() => chooseEngine({ ...base, LLAMA_SERVER_PATH: "/nowhere/llama-server" })).toThrow(/LLAMA_SERVER_PATH names a file that does not exist/);
  });
});

describe("explainGpuProblem", () => {
  const probe = (libs: string[], extra: Partial<GpuProbe> = {}): GpuProbe => ({
    nvidiaDriver: false,
    hasLibrary: (n) => libs.includes(n),
    nvidiaLibDirs: [],
    nvidiaIcd: null,
    ...extra,
  });

  it("names the CUDA 12 runtime the binding needs on a CUDA 13 host, with the fix", () => {
    const why = explainGpuProblem("cuda", probe(["libcudart.so.13"]))!;
    expect(why).toMatch(/libcudart\.so\.12, libcublas\.so\.12 not found/);
    expect(why).toMatch(/CUDA 13 only/);
    expect(why).toMatch(/npm run engine:build/);
    expect(explainGpuProblem("cuda", probe(["libcudart.so.12", "libcublas.so.12"]))).toBeNull();
  });

  it("names the missing Vulkan loader, and the NVIDIA Vulkan driver library with where it is", () => {
    expect(explainGpuProblem("vulkan", probe([]))).toMatch(/libvulkan\.so\.1 .*apt-get install libvulkan1/);
    expect(explainGpuProblem("vulkan", probe(["libvulkan.so.1"]))).toBeNull();
    const nvidia = probe(["libvulkan.so.1"], {
      nvidiaDriver: true,
      nvidiaLibDirs: ["/usr/local/nvidia/lib64"],
      nvidiaIcd: "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json",
    });
    expect(explainGpuProblem("vulkan", nvidia, true)).toBe(
      "vulkan: the variant loaded but found no GPU — the NVIDIA driver is loaded but its Vulkan driver library libGLX_nvidia.so.0 is not on the loader path; " +
        "add /usr/local/nvidia/lib64 to LD_LIBRARY_PATH and set VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json",
    );
  });
});
