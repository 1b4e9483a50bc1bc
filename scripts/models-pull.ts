// Pulls a model by name from Hugging Face (or HF_ENDPOINT) into MODELS_DIR, with its projector:
//   npm run models:pull <owner>/<repo>[:<quant>]
// e.g. npm run models:pull ggml-org/Qwen2.5-VL-3B-Instruct-GGUF:Q4_K_M
// HF_TOKEN is sent for gated repositories. Ctrl-C keeps the partial files: the same command resumes.
import path from "node:path";
import { hubFromEnv } from "../lib/models/hub";
import { pullModel, type PullProgress } from "../lib/models/pull-model";
import { PullError } from "../lib/models/pull-error";

const name = process.argv[2];
if (!name || process.argv.length > 3) {
  console.error("usage: npm run models:pull <owner>/<repo>[:<quant>]   (e.g. ggml-org/Qwen2.5-VL-3B-Instruct-GGUF:Q4_K_M)");
  process.exit(2);
}
const modelsDir = path.resolve(process.env.MODELS_DIR || "models");
const hub = hubFromEnv();
const mb = (n: number) => (n / 1e6).toFixed(n < 1e8 ? 1 : 0);
const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
const tty = process.stdout.isTTY;
let lastLine = 0;
let lastFile: string | undefined;

function show(p: PullProgress) {
  if (p.phase === "listing") return console.log(`Listing ${name} on ${hub.endpoint}…`);
  if (p.phase === "installing") return;
  if (p.phase === "verifying") {
    if (tty) process.stdout.write("\n");
    return console.log(`  ${p.file}: SHA-256 matches the hub's.`);
  }
  if (p.file !== lastFile) {
    lastFile = p.file;
    console.log(`Downloading ${p.file}`);
  }
  const pct = p.total ? Math.floor((p.bytes / p.total) * 100) : 0;
  const line = `  ${String(pct).padStart(3)}%  ${mb(p.bytes)} / ${mb(p.total)} MB  ${mb(p.bytesPerSecond)} MB/s  ${p.etaSeconds === null ? "" : `ETA ${clock(p.etaSeconds)}`}`;
  if (tty) process.stdout.write(`\r${line.padEnd(70)}`);
  else if (Date.now() - lastLine > 2000) {
    lastLine = Date.now();
    console.log(line);
  }
}

const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
process.once("SIGTERM", () => stop.abort());
const started = Date.now();
try {
  const r = await pullModel({ name, modelsDir, hub, signal: stop.signal, onProgress: show });
  const where = path.relative(process.cwd(), r.dir) || r.dir;
  if (r.alreadyInstalled) console.log(`${r.repo}:${r.tag} is already installed in ${where}.`);
  else {
    const seconds = (Date.now() - started) / 1000;
    console.log(`Installed ${r.repo}:${r.tag} in ${where} (${mb(r.bytesFetched)} MB fetched in ${seconds.toFixed(1)} s${r.verified ? "" : "; the hub listed no SHA-256 for some files, so they were not checked"}).`);
  }
  console.log(
    r.textOnly
      ? `${r.repo} has no vision projector (mmproj): the model is text-only and cannot read images.`
      : `Language model ${path.basename(r.modelFile)} with projector ${path.basename(r.mmprojFile!)}: it can read images.`,
  );
  console.log("The running app lists it on the Models page now; no restart is needed.");
} catch (err) {
  if (tty) process.stdout.write("\n");
  if (err instanceof PullError) {
    console.error(err.code === "cancelled" ? "Interrupted. The partial download is kept: run the same command again to resume it." : err.message);
    process.exit(err.code === "cancelled" ? 130 : 1);
  }
  throw err;
}
