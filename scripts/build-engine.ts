// npm run engine:build — builds llama-server from the llama.cpp source that
// node-llama-cpp ships in node_modules (a git bundle; nothing is downloaded
// and nothing is committed) into .cache/llama.cpp/bin, compiled for this
// machine: native CPU code, plus CUDA when nvcc exists and Vulkan when its
// headers and shader compiler exist. Idempotent: an up-to-date build is
// reported and kept.
//
//   ENGINE_BUILD_GPU=auto|cpu|cuda|vulkan|cuda,vulkan   (default auto)
//   ENGINE_BUILD_JOBS=N                                  (default: all cores)
//   ENGINE_BUILD_UNITY=0   compile llama.cpp's model files one by one (default:
//                          16 to a unit, scripts/llama-unity.cmake; file by
//                          file anyway if that fails)
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { builtServerPath, cpuFingerprint, LLAMA_CPP_DIR, readBuildInfo, writeBuildInfo, type BuildInfo } from "../lib/engine/llama-server/binary";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const dir = LLAMA_CPP_DIR();
const bundle = path.join(root, "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");

function which(cmd: string): string | null {
  const r = spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** GPU backends to compile in, and why the others are left out. */
function chooseGpu(): { gpu: string[]; notes: string[]; gpuPresent: boolean } {
  const asked = (process.env.ENGINE_BUILD_GPU ?? "auto").split(",").map((s) => s.trim());
  const notes: string[] = [];
  const nvcc = which("nvcc") ?? (fs.existsSync("/usr/local/cuda/bin/nvcc") ? "/usr/local/cuda/bin/nvcc" : null);
  const vulkan = Boolean(which("glslc")) && fs.existsSync("/usr/include/vulkan/vulkan.h");
  const gpuPresent = fs.existsSync("/proc/driver/nvidia/version") || Boolean(which("nvidia-smi"));
  if (asked.includes("cpu")) return { gpu: [], notes: ["ENGINE_BUILD_GPU=cpu"], gpuPresent };
  const gpu: string[] = [];
  const want = (name: string) => asked.includes("auto") || asked.includes(name);
  if (want("cuda")) {
    // nvcc alone is not enough: CUDA kernels take long to compile, so `auto`
    // builds them only where a GPU is there to run them, and cuBLAS must exist.
    const cublas = ["/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu"].some((d) => fs.existsSync(path.join(d, "libcublas.so")));
    if (!nvcc) notes.push("CUDA: no nvcc on PATH or in /usr/local/cuda/bin (install the CUDA toolkit to build it)");
    else if (!cublas) notes.push("CUDA: nvcc is here but cuBLAS (libcublas.so) is not (install the CUDA toolkit's libcublas-dev)");
    else if (!gpuPresent && asked.includes("auto")) notes.push("CUDA: nvcc is here but no NVIDIA GPU (ENGINE_BUILD_GPU=cuda builds it anyway)");
    else gpu.push("cuda");
  }
  if (want("vulkan")) {
    if (vulkan) gpu.push("vulkan");
    else notes.push("Vulkan: needs glslc and the Vulkan headers (apt-get install glslc libvulkan-dev)");
  }
  for (const name of asked) {
    if (name !== "auto" && !gpu.includes(name)) throw new Error(`ENGINE_BUILD_GPU asks for ${name}, which cannot be built here: ${notes.join("; ")}`);
  }
  return { gpu, notes, gpuPresent };
}

function bundleCommit(): string {
  const heads = execFileSync("git", ["bundle", "list-heads", bundle], { encoding: "utf8" });
  const sha = heads.split("\n")[0]?.split(" ")[0];
  if (!sha) throw new Error(`${bundle} lists no commit`);
  return sha;
}

function ensureSource(commit: string): string {
  const src = path.join(dir, "src");
  const have = fs.existsSync(path.join(src, ".git"))
    ? spawnSync("git", ["-C", src, "rev-parse", "HEAD"], { encoding: "utf8" }).stdout.trim()
    : "";
  if (have !== commit) {
    fs.rmSync(src, { recursive: true, force: true });
    console.log(`cloning llama.cpp ${commit.slice(0, 10)} from node-llama-cpp's bundle…`);
    execFileSync("git", ["clone", "-q", bundle, src], { stdio: "inherit" });
  }
  return src;
}

/** Runs a command, showing cmake's `[ NN%]` progress on one line. */
function run(cmd: string, args: string[], label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    let shown = -1;
    const onData = (d: Buffer) => {
      tail = (tail + d.toString()).slice(-6000);
      for (const m of d.toString().matchAll(/\[\s*(\d+)%\]/g)) {
        const pct = Number(m[1]);
        if (pct === shown) continue;
        shown = pct;
        if (process.stdout.isTTY) process.stdout.write(`\r${label} ${pct}%   `);
        else if (pct % 10 === 0) console.log(`${label} ${pct}%`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => {
      if (process.stdout.isTTY && shown >= 0) process.stdout.write("\n");
      if (code === 0) resolve();
      else reject(new Error(`${label} failed (exit ${code}):\n${tail}`));
    });
  });
}

async function main() {
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm ci first`);
  for (const tool of ["git", "cmake", "c++"]) {
    if (!which(tool)) throw new Error(`${tool} is needed to build llama-server (Debian: apt-get install -y git cmake g++)`);
  }
  const commit = bundleCommit();
  const { gpu, notes, gpuPresent } = chooseGpu();
  const options = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DGGML_NATIVE=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_APP=OFF",
    // The web UI is not needed, and its prebuilt download must never be tried.
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    // "native" needs a GPU at build time; without one, the common data-centre and desktop generations.
    ...(gpu.includes("cuda") ? ["-DGGML_CUDA=ON", `-DCMAKE_CUDA_ARCHITECTURES=${gpuPresent ? "native" : "75;80;86;89;90"}`] : []),
    ...(gpu.includes("vulkan") ? ["-DGGML_VULKAN=ON"] : []),
  ];
  const unity = process.env.ENGINE_BUILD_UNITY !== "0";
  if (unity) options.push(`-DCMAKE_PROJECT_INCLUDE=${path.join(root, "scripts", "llama-unity.cmake")}`);
  const previous = readBuildInfo();
  // readBuildInfo() is null for a build from another CPU (GGML_NATIVE code may not run here).
  if (previous && previous.commit === commit && JSON.stringify(previous.options) === JSON.stringify(options)) {
    console.log(`llama-server is up to date: ${builtServerPath()} (CPU${gpu.map((g) => ` + ${g}`).join("")}, ${(previous.bytes / 1e6).toFixed(1)} MB, built in ${previous.seconds} s on ${previous.builtAt})`);
    return;
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`building llama-server (CPU native${gpu.map((g) => ` + ${g}`).join("")}) from llama.cpp ${commit.slice(0, 10)}; this takes several minutes…`);
  const started = Date.now();
  const src = ensureSource(commit);
  const build = path.join(dir, `build-${gpu.length ? gpu.join("-") : "cpu"}`);
  // make would not recompile native code for another CPU on its own (a copied .cache): start clean then.
  const stamp = path.join(build, "lvc-cpu");
  if (fs.existsSync(build) && (!fs.existsSync(stamp) || fs.readFileSync(stamp, "utf8") !== cpuFingerprint())) {
    fs.rmSync(build, { recursive: true, force: true });
  }
  fs.mkdirSync(build, { recursive: true });
  fs.writeFileSync(stamp, cpuFingerprint());
  await run("cmake", ["-S", src, "-B", build, ...options], "configure");
  const jobs = process.env.ENGINE_BUILD_JOBS ?? String(os.availableParallelism());
  try {
    await run("cmake", ["--build", build, "--target", "llama-server", "-j", jobs], "build");
  } catch (err) {
    if (!unity) throw err;
    // A newer llama.cpp may add a model file that cannot share a unit (a
    // static function named as in another file): build file by file, and say
    // so. The build info keeps the options asked for, so the next run does
    // not try again.
    const first = /error: .*/.exec((err as Error).message)?.[0] ?? (err as Error).message.split("\n")[0];
    console.log(`note: the unity build failed (${first}); building file by file (list that file in scripts/llama-unity.cmake)`);
    const fileByFile = options.filter((o) => !o.startsWith("-DCMAKE_PROJECT_INCLUDE="));
    await run("cmake", ["-S", src, "-B", build, "-UCMAKE_PROJECT_INCLUDE", ...fileByFile], "configure");
    await run("cmake", ["--build", build, "--target", "llama-server", "-j", jobs], "build");
  }
  const out = builtServerPath();
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.copyFileSync(path.join(build, "bin", "llama-server"), `${out}.tmp`);
  fs.chmodSync(`${out}.tmp`, 0o755);
  fs.renameSync(`${out}.tmp`, out);
  const info: BuildInfo = {
    commit,
    gpu,
    options,
    cpu: cpuFingerprint(),
    seconds: Math.round((Date.now() - started) / 1000),
    bytes: fs.statSync(out).size,
    builtAt: new Date().toISOString(),
  };
  writeBuildInfo(info);
  console.log(`built ${out}: ${(info.bytes / 1e6).toFixed(1)} MB in ${info.seconds} s`);
}

main().catch((err: Error) => {
  console.error(`engine:build failed: ${err.message}`);
  process.exit(1);
});
