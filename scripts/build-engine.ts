// npm run engine:build — builds llama-server from the llama.cpp source that
// node-llama-cpp ships in node_modules (a git bundle; nothing is downloaded
// and nothing is committed) into .cache/llama.cpp/bin. Idempotent: an
// up-to-date build is reported and kept. Two ways:
//
// - linked (the default): compiles only llama-server and libmtmd and links
//   them against the ggml, llama and common shared libraries node-llama-cpp
//   ships prebuilt for the same release (scripts/llama-linked.cmake). About
//   2–3 minutes on 2 cores instead of 7–14. The libraries go next to the
//   binary: ggml picks the CPU code for the CPU it runs on (one library per
//   x86 level), so one build serves every CPU, and the prebuilt CUDA and
//   Vulkan backends are linked in too, loaded when the machine has the
//   driver and runtime libraries (no toolkit needed).
// - source: the whole of llama.cpp, compiled for this machine's CPU (and CUDA
//   or Vulkan from their toolkits). The fallback when the linked build fails,
//   and what ENGINE_BUILD_GPU=cuda|vulkan asks for.
//
//   ENGINE_BUILD_MODE=auto|linked|source                 (default auto: linked, else source)
//   ENGINE_BUILD_GPU=auto|cpu|cuda|vulkan|cuda,vulkan   (default auto)
//   ENGINE_BUILD_JOBS=N                                  (default: all cores)
//   ENGINE_BUILD_UNITY=0   compile file by file (default: several files to a
//                          unit: scripts/llama-unity.cmake for the source
//                          build's model files; file by file anyway if that fails)
//   LLAMA_CPP_DIR=DIR      build somewhere else than .cache/llama.cpp
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { findSharedLibrary } from "../lib/engine/gpu";
import { builtServerPath, cpuFingerprint, LLAMA_CPP_DIR, prebuiltLibraries, readBuildInfo, writeBuildInfo, type BuildInfo } from "../lib/engine/llama-server/binary";

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
    execFileSync("git", ["-c", "advice.detachedHead=false", "clone", "-q", bundle, src], { stdio: "inherit" });
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

/** Copies the built binary into bin/ (atomically) and records the build. */
function install(built: string, info: Omit<BuildInfo, "bytes" | "builtAt">, libraries: { name: string; from: string; link?: boolean }[] = []) {
  const out = builtServerPath();
  const bin = path.dirname(out);
  fs.mkdirSync(bin, { recursive: true });
  // Libraries of an earlier linked build would be found by a new one's ggml
  // backend search (the binary's folder): start from none.
  for (const f of fs.readdirSync(bin)) if (/\.so(\.|$)/.test(f)) fs.rmSync(path.join(bin, f), { force: true });
  for (const lib of libraries) {
    const to = path.join(bin, lib.name);
    if (lib.link) {
      // The GPU backends are big (CUDA's is 160 MB): a link into node_modules.
      fs.symlinkSync(lib.from, to);
    } else {
      // A hard link costs no space and survives a reinstall of node_modules (the binary keeps the libraries it was linked with).
      try {
        fs.linkSync(lib.from, to);
      } catch {
        fs.copyFileSync(lib.from, to);
      }
    }
  }
  fs.copyFileSync(built, `${out}.tmp`);
  fs.chmodSync(`${out}.tmp`, 0o755);
  fs.renameSync(`${out}.tmp`, out);
  const full: BuildInfo = { ...info, libraries: libraries.length ? libraries.map((l) => l.name) : undefined, bytes: fs.statSync(out).size, builtAt: new Date().toISOString() };
  writeBuildInfo(full);
  return full;
}

/** The whole of llama.cpp from source, native CPU code (+ CUDA/Vulkan from their toolkits). */
async function sourceBuild(commit: string, gpu: string[], gpuPresent: boolean, started: number): Promise<BuildInfo> {
  const options = sourceOptions(gpu, gpuPresent);
  const unity = options.some((o) => o.startsWith("-DCMAKE_PROJECT_INCLUDE="));
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
  try {
    await run("cmake", ["--build", build, "--target", "llama-server", "-j", jobs()], "build");
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
    await run("cmake", ["--build", build, "--target", "llama-server", "-j", jobs()], "build");
  }
  return install(path.join(build, "bin", "llama-server"), {
    commit,
    gpu,
    options,
    mode: "source",
    cpu: cpuFingerprint(),
    seconds: Math.round((Date.now() - started) / 1000),
  });
}

function sourceOptions(gpu: string[], gpuPresent: boolean): string[] {
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
  if (process.env.ENGINE_BUILD_UNITY !== "0") options.push(`-DCMAKE_PROJECT_INCLUDE=${path.join(root, "scripts", "llama-unity.cmake")}`);
  return options;
}

const jobs = () => process.env.ENGINE_BUILD_JOBS ?? String(os.availableParallelism());

/**
 * What the linked build links and ships, or why it cannot be done here.
 * The prebuilt libraries must come from the release the source bundle is:
 * node-llama-cpp records both (llama.cpp.info.json's tag, the binaries'
 * _nlcBuildMetadata.json), and a mismatch would mean headers that do not
 * describe the libraries.
 */
function linkedPlan(wantGpu: boolean): { prebuilt: string; release: string; libraries: { name: string; from: string; link?: boolean }[]; gpu: string[]; notes: string[] } | string {
  const pre = prebuiltLibraries(root);
  if (!pre.cpu) return `node-llama-cpp has no prebuilt libraries for ${process.platform}-${process.arch}`;
  let tag: string | null = null;
  try {
    tag = (JSON.parse(fs.readFileSync(path.join(root, "node_modules", "node-llama-cpp", "llama", "llama.cpp.info.json"), "utf8")) as { tag?: string }).tag ?? null;
  } catch {
    /* checked below */
  }
  if (!tag || tag !== pre.release) return `the prebuilt libraries (llama.cpp ${pre.release ?? "?"}) are not from the bundled source's release (${tag ?? "?"})`;
  const files = fs.readdirSync(pre.cpu);
  const core = ["libggml-base.so", "libllama-common.so"];
  const versioned = files.filter((f) => /^lib(ggml|llama)\.v[\d.]+\.so$/.test(f));
  const cpuBackends = files.filter((f) => /^libggml-cpu.*\.so$/.test(f));
  if (!core.every((f) => files.includes(f)) || versioned.length !== 2 || !cpuBackends.length) return `the prebuilt libraries in ${pre.cpu} are incomplete`;
  const libraries: { name: string; from: string; link?: boolean }[] = [...core, ...versioned, ...cpuBackends].map((name) => ({ name, from: path.join(pre.cpu!, name) }));
  const gpu: string[] = [];
  const notes: string[] = [];
  if (wantGpu) {
    // CUDA: node-llama-cpp's main build links the CUDA 13 runtime; its -ext package has a CUDA 12 one.
    const cuda = !findSharedLibrary("libcudart.so.13") && findSharedLibrary("libcudart.so.12") && pre.cuda12 ? pre.cuda12 : pre.cuda;
    if (cuda) {
      libraries.push({ name: "libggml-cuda.so", from: path.join(cuda, "libggml-cuda.so"), link: true });
      gpu.push("cuda");
    } else notes.push("CUDA: @node-llama-cpp/linux-x64-cuda is not installed");
    if (pre.vulkan) {
      libraries.push({ name: "libggml-vulkan.so", from: path.join(pre.vulkan, "libggml-vulkan.so"), link: true });
      gpu.push("vulkan");
    } else notes.push("Vulkan: @node-llama-cpp/linux-x64-vulkan is not installed");
  }
  return { prebuilt: pre.cpu, release: tag, libraries, gpu, notes };
}

/** llama-server and libmtmd compiled, ggml/llama/common linked from node-llama-cpp's prebuilt libraries. */
async function linkedBuild(commit: string, plan: Exclude<ReturnType<typeof linkedPlan>, string>, options: string[], started: number): Promise<BuildInfo> {
  const src = ensureSource(commit);
  const project = path.join(dir, "linked");
  const build = path.join(dir, "build-linked");
  fs.mkdirSync(project, { recursive: true });
  const cmakeLists = [
    "cmake_minimum_required(VERSION 3.16)",
    "project(lvc_llama_server C CXX)",
    `include("${path.join(root, "scripts", "llama-linked.cmake")}")`,
    "",
  ].join("\n");
  const listsFile = path.join(project, "CMakeLists.txt");
  if (!fs.existsSync(listsFile) || fs.readFileSync(listsFile, "utf8") !== cmakeLists) fs.writeFileSync(listsFile, cmakeLists);
  const unity = process.env.ENGINE_BUILD_UNITY !== "0";
  const configure = (u: boolean) =>
    run("cmake", ["-S", project, "-B", build, "-DCMAKE_BUILD_TYPE=Release", `-DLVC_LLAMA_SRC=${src}`, `-DLVC_PREBUILT_DIR=${plan.prebuilt}`, `-DLVC_UNITY=${u ? "ON" : "OFF"}`], "configure");
  await configure(unity);
  try {
    await run("cmake", ["--build", build, "--target", "llama-server", "-j", jobs()], "build");
  } catch (err) {
    if (!unity) throw err;
    // Sources that cannot share a unit in a newer llama.cpp: file by file.
    const first = /error: .*/.exec((err as Error).message)?.[0] ?? (err as Error).message.split("\n")[0];
    console.log(`note: the linked unity build failed (${first}); compiling file by file (exclude that file in scripts/llama-linked.cmake)`);
    await configure(false);
    await run("cmake", ["--build", build, "--target", "llama-server", "-j", jobs()], "build");
  }
  const built = path.join(build, "bin", "llama-server");
  // Run it once beside its libraries (a scratch folder: bin/ keeps the working build until this one is proven).
  const trial = path.join(build, "trial");
  fs.rmSync(trial, { recursive: true, force: true });
  fs.mkdirSync(trial);
  for (const lib of plan.libraries) fs.symlinkSync(lib.from, path.join(trial, lib.name));
  fs.copyFileSync(built, path.join(trial, "llama-server"));
  const version = spawnSync(path.join(trial, "llama-server"), ["--version"], { encoding: "utf8", timeout: 60_000 });
  const said = `${version.stdout ?? ""}${version.stderr ?? ""}`;
  if (version.status !== 0 || !/version:/.test(said)) throw new Error(`the linked llama-server does not run: ${said.trim().split("\n").slice(-3).join(" / ") || version.error?.message}`);
  fs.rmSync(trial, { recursive: true, force: true });
  return install(
    built,
    { commit, gpu: plan.gpu, options, mode: "linked", cpu: "any", seconds: Math.round((Date.now() - started) / 1000) },
    plan.libraries,
  );
}

async function main() {
  if (!fs.existsSync(bundle)) throw new Error(`${bundle} is missing: run npm ci first`);
  for (const tool of ["git", "cmake", "c++"]) {
    if (!which(tool)) throw new Error(`${tool} is needed to build llama-server (Debian: apt-get install -y git cmake g++)`);
  }
  const commit = bundleCommit();
  const mode = process.env.ENGINE_BUILD_MODE ?? "auto";
  if (!["auto", "linked", "source"].includes(mode)) throw new Error(`ENGINE_BUILD_MODE is ${mode}: use auto, linked or source`);
  const askedGpu = (process.env.ENGINE_BUILD_GPU ?? "auto").split(",").map((s) => s.trim());
  // ENGINE_BUILD_GPU=cuda|vulkan asks for a backend compiled from its toolkit: the source build.
  const linkedAllowed = mode !== "source" && askedGpu.every((g) => g === "auto" || g === "cpu");
  if (mode === "linked" && !linkedAllowed) throw new Error("ENGINE_BUILD_MODE=linked uses the prebuilt GPU backends: leave ENGINE_BUILD_GPU unset (or cpu)");
  const plan = linkedAllowed ? linkedPlan(!askedGpu.includes("cpu")) : null;
  if (typeof plan === "string" && mode === "linked") throw new Error(`cannot build linked: ${plan}`);
  const previous = readBuildInfo();
  const started = Date.now();
  if (plan && typeof plan !== "string") {
    const options = ["linked", `prebuilt=${plan.release}`, ...plan.libraries.map((l) => l.name), `unity=${process.env.ENGINE_BUILD_UNITY !== "0"}`];
    if (previous && previous.commit === commit && JSON.stringify(previous.options) === JSON.stringify(options)) {
      console.log(`llama-server is up to date: ${builtServerPath()} (linked, CPU${previous.gpu.map((g) => ` + ${g}`).join("")}, ${(previous.bytes / 1e6).toFixed(1)} MB, built in ${previous.seconds} s on ${previous.builtAt})`);
      return;
    }
    for (const n of plan.notes) console.log(`note: ${n}`);
    console.log(
      `building llama-server from llama.cpp ${commit.slice(0, 10)}, linked against node-llama-cpp's prebuilt libraries (${plan.release}; CPU for every x86 level${plan.gpu.map((g) => ` + ${g}`).join("")}); this takes a few minutes…`,
    );
    // A linked build that failed here once is not tried again for the same inputs (each try costs minutes).
    const failedMark = path.join(dir, "linked-failed");
    const key = JSON.stringify({ commit, options });
    if (mode === "auto" && fs.existsSync(failedMark) && fs.readFileSync(failedMark, "utf8").startsWith(key)) {
      console.log(`note: the linked build failed here before (${failedMark}); building from source (ENGINE_BUILD_MODE=linked tries it again)`);
    } else {
      try {
        const info = await linkedBuild(commit, plan, options, started);
        fs.rmSync(failedMark, { force: true });
        console.log(`built ${builtServerPath()} (linked): ${(info.bytes / 1e6).toFixed(1)} MB in ${info.seconds} s`);
        return;
      } catch (err) {
        if (mode === "linked") throw err;
        const first = /error: .*/.exec((err as Error).message)?.[0] ?? (err as Error).message.split("\n")[0];
        fs.writeFileSync(failedMark, `${key}\n${(err as Error).message.slice(-4000)}\n`);
        console.log(`note: the linked build failed (${first}); building all of llama.cpp from source instead`);
      }
    }
  } else if (typeof plan === "string") {
    console.log(`note: no linked build (${plan}); building all of llama.cpp from source`);
  }
  const { gpu, notes, gpuPresent } = chooseGpu();
  const options = sourceOptions(gpu, gpuPresent);
  // readBuildInfo() is null for a build from another CPU (GGML_NATIVE code may not run here).
  if (previous && previous.commit === commit && JSON.stringify(previous.options) === JSON.stringify(options)) {
    console.log(`llama-server is up to date: ${builtServerPath()} (CPU${gpu.map((g) => ` + ${g}`).join("")}, ${(previous.bytes / 1e6).toFixed(1)} MB, built in ${previous.seconds} s on ${previous.builtAt})`);
    return;
  }
  for (const n of notes) console.log(`note: ${n}`);
  console.log(`building llama-server (CPU native${gpu.map((g) => ` + ${g}`).join("")}) from llama.cpp ${commit.slice(0, 10)}; this takes several minutes…`);
  const info = await sourceBuild(commit, gpu, gpuPresent, started);
  console.log(`built ${builtServerPath()}: ${(info.bytes / 1e6).toFixed(1)} MB in ${info.seconds} s`);
}

main().catch((err: Error) => {
  console.error(`engine:build failed: ${err.message}`);
  process.exit(1);
});
