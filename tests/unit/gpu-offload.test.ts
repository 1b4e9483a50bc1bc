import { describe, expect, it } from "vitest";
import { explainServerGpu, parseDeviceList, parseOffloadLog, planOffload, serverGpuEnv, type GpuDevice, type GpuProbe } from "@/lib/engine/gpu";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const h100: GpuDevice = { name: "CUDA0", description: "NVIDIA H100 80GB HBM3", totalMiB: 81_080, freeMiB: 80_500 };
const small: GpuDevice = { name: "Vulkan0", description: "NVIDIA GeForce GTX 1650", totalMiB: 4096, freeMiB: 3800 };

describe("planOffload", () => {
  it("CPU only when no GPU is seen or 0 layers are asked for; the projector stays on the CPU then", () => {
    expect(planOffload({ devices: [], requested: "auto", llmBytes: GiB, mmprojBytes: 600 * MiB })).toMatchObject({
      args: ["--n-gpu-layers", "0", "--no-mmproj-offload"],
      mmprojOnGpu: false,
      device: null,
      reason: "CPU: llama-server sees no GPU",
    });
    expect(planOffload({ devices: [h100], requested: 0, llmBytes: GiB, mmprojBytes: 0 }).args).toEqual(["--n-gpu-layers", "0"]);
  });

  it("a model that fits: every layer and the projector on the GPU, the projector's room kept free for it", () => {
    const plan = planOffload({ devices: [small, h100], requested: "auto", llmBytes: 4 * GiB, mmprojBytes: 600 * MiB });
    expect(plan.device).toBe(h100);
    expect(plan.mmprojOnGpu).toBe(true);
    // 1024 MiB margin + 600 × 1.25 + 512 MiB for the projector
    expect(plan.args).toEqual(["--n-gpu-layers", "auto", "--fit", "on", "--fit-target", String(1024 + 750 + 512)]);
    expect(plan.reason).toMatch(/^CUDA0 \(NVIDIA H100 80GB HBM3, 80500 MiB free\): every layer with the context, 2286 MiB kept free; the projector on the GPU$/);
  });

  it("a model bigger than the GPU: as many layers as fit; a small projector still goes on the GPU, a big one stays on the CPU", () => {
    const smallProj = planOffload({ devices: [small], requested: "auto", llmBytes: 7 * GiB, mmprojBytes: 100 * MiB });
    expect(smallProj.mmprojOnGpu).toBe(true);
    expect(smallProj.reason).toMatch(/as many layers as fit/);
    const bigProj = planOffload({ devices: [small], requested: "auto", llmBytes: 7 * GiB, mmprojBytes: 1300 * MiB });
    expect(bigProj.mmprojOnGpu).toBe(false);
    expect(bigProj.args).toEqual(["--n-gpu-layers", "auto", "--fit", "on", "--fit-target", "1024", "--no-mmproj-offload"]);
    expect(bigProj.reason).toMatch(/the projector on the CPU \(it needs about 2137 MiB\)/);
  });

  it("a number of layers is passed as asked, without fitting", () => {
    expect(planOffload({ devices: [h100], requested: 20, llmBytes: GiB, mmprojBytes: 0 }).args).toEqual(["--n-gpu-layers", "20", "--fit", "off"]);
  });
});

describe("llama-server's GPU output", () => {
  it("parses --list-devices", () => {
    const text = "Available devices:\n  CUDA0: NVIDIA H100 80GB HBM3 (81080 MiB, 80500 MiB free)\n  Vulkan0: NVIDIA H100 80GB HBM3 (81920 MiB, 80000 MiB free)\n";
    expect(parseDeviceList(text)).toEqual([h100, { name: "Vulkan0", description: "NVIDIA H100 80GB HBM3", totalMiB: 81_920, freeMiB: 80_000 }]);
    expect(parseDeviceList("Available devices:\n")).toEqual([]);
  });

  it("reads the device, its free memory and the layers offloaded from the load log", () => {
    expect(
      parseOffloadLog([
        "llama_model_load_from_file_impl: using device CUDA0 (NVIDIA H100 80GB HBM3) (0000:00:05.0) - 80500 MiB free",
        "load_tensors: offloaded 25/25 layers to GPU",
      ]),
    ).toEqual({ device: "CUDA0", description: "NVIDIA H100 80GB HBM3", freeMiB: 80_500, layers: 25, totalLayers: 25 });
    expect(parseOffloadLog(["load_tensors: CPU_Mapped model buffer size = 500 MiB"])).toEqual({});
  });
});

describe("prebuilt GPU backends: what is missing, and the paths found for them", () => {
  const probe = (libs: string[], extra: Partial<GpuProbe> = {}): GpuProbe => ({ nvidiaDriver: false, hasLibrary: (n) => libs.includes(n), nvidiaLibDirs: [], nvidiaIcd: null, ...extra });

  it("names the missing driver, CUDA runtime or Vulkan loader", () => {
    expect(explainServerGpu(["cuda", "vulkan"], probe([]))).toBe(
      "CUDA: no NVIDIA driver (no /proc/driver/nvidia, no libcuda.so.1); Vulkan: libvulkan.so.1 (the Vulkan loader) not found — apt-get install libvulkan1",
    );
    expect(explainServerGpu(["cuda"], probe(["libcuda.so.1"], { nvidiaDriver: true }))).toMatch(/^CUDA: libcudart\.so\.13, libcublas\.so\.13 not found — the prebuilt CUDA backend needs the CUDA 13 runtime/);
    expect(explainServerGpu(["cuda"], probe(["libcuda.so.1", "libcudart.so.12", "libcublas.so.12"], { nvidiaDriver: true }))).toBeNull();
    expect(explainServerGpu(["cuda", "vulkan"], probe(["libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libvulkan.so.1", "libGLX_nvidia.so.0"], { nvidiaDriver: true }))).toBeNull();
    expect(explainServerGpu(["vulkan"], probe(["libvulkan.so.1"], { nvidiaDriver: true }))).toMatch(/libGLX_nvidia\.so\.0 is not installed/);
    expect(explainServerGpu([], probe([]))).toMatch(/without GPU backends/);
  });

  it("adds the library folders and the NVIDIA Vulkan manifest without replacing what is set", () => {
    expect(serverGpuEnv(["/usr/local/cuda/lib64", "/usr/local/nvidia/lib64"], "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json", { LD_LIBRARY_PATH: "/opt/x:/usr/local/nvidia/lib64" })).toEqual({
      LD_LIBRARY_PATH: "/opt/x:/usr/local/nvidia/lib64:/usr/local/cuda/lib64",
      VK_DRIVER_FILES: "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json",
    });
    expect(serverGpuEnv([], "/usr/share/vulkan/icd.d/nvidia_icd.json", {})).toEqual({});
    expect(serverGpuEnv([], "/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json", { VK_DRIVER_FILES: "/mine.json" })).toEqual({});
  });
});
