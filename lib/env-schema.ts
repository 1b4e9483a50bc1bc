import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { parseAutoAdapters } from "./engine/auto-adapters";

/** Resolves a configured path against the working directory (not traced into the build). */
const abs = (p: string) => path.resolve(/*turbopackIgnore: true*/ process.cwd(), p);

const intFrom = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce.number().int().min(min).max(max);

const autoOrInt = z.union([z.literal("auto"), intFrom(0)]);

/** ENGINE_AUTOBUILD's reading: on unless `0`, `false`, `off` or `no`. */
export const autoBuildEnabled = (value: string | undefined) => !/^(0|false|off|no)$/i.test(value?.trim() ?? "");

/** Physical cores (unique core ids in /proc/cpuinfo), or the logical count where that cannot be read. */
export function physicalCores(): number {
  const logical = os.availableParallelism?.() ?? os.cpus().length;
  try {
    const cores = new Set<string>();
    let phys = "0";
    for (const line of fs.readFileSync("/proc/cpuinfo", "utf8").split("\n")) {
      const [k, v] = line.split(":").map((x) => x.trim());
      if (k === "physical id") phys = v ?? "0";
      if (k === "core id") cores.add(`${phys}:${v}`);
    }
    return cores.size > 0 ? Math.min(cores.size, logical) : logical;
  } catch {
    return logical;
  }
}

/**
 * Default inference threads, per engine (measured with `npm run bench:threads`,
 * bench/RESULTS.md). llama-server: every physical core, at most 8 — on the
 * 2-core machine 2 threads decoded 1.23× and read an image 2.1× faster than
 * 1, and llama.cpp's own default is the physical core count; past about 8,
 * decode is bound by memory bandwidth. In-process: cores − 1, at most 4 —
 * the binding's prebuilt CPU code has no SIMD and got slower with more
 * threads (15 threads on a 16-core host decoded 7.3 tok/s, 1 thread on a
 * 2-core one 13–14). THREADS overrides both.
 */
export const defaultThreads = (engine: "in-process" | "llama-server" = "llama-server") =>
  engine === "in-process"
    ? Math.min(4, Math.max(1, (os.availableParallelism?.() ?? os.cpus().length) - 1))
    : Math.min(8, Math.max(1, physicalCores()));

/**
 * Every configuration variable the app reads. Paths are resolved against the
 * current working directory (the repository root under `npm start`).
 */
export const envSchema = z.object({
  /** Where the database, uploads and generated secrets live. Default `./data`. */
  DATA_DIR: z.string().min(1).default("./data"),
  /**
   * The database: `file:<path>` (SQLite, the default `file:<DATA_DIR>/app.db`)
   * or `postgresql://user:password@host:port/database` (PostgreSQL; several
   * instances can share it). Pending migrations are applied at start.
   */
  DATABASE_URL: z
    .string()
    .regex(/^(file:|postgres(ql)?:\/\/)/, "must be a SQLite URL starting with file: or a PostgreSQL URL starting with postgresql://")
    .optional(),
  /** Where uploaded images are stored (content-addressed). Default `<DATA_DIR>/uploads`. */
  UPLOAD_DIR: z.string().min(1).optional(),
  /** Folder scanned for GGUF models. Default `./models`. */
  MODELS_DIR: z.string().min(1).default("./models"),
  /**
   * The CLIP model that indexes images (a transformers.js folder: config.json,
   * tokenizer and preprocessor files, onnx/{text,vision}_model.onnx). Default
   * the shipped `models/clip/shapes-clip`.
   */
  CLIP_MODEL_DIR: z.string().min(1).default("./models/clip/shapes-clip"),
  /**
   * The speech-recognition model that writes audio transcripts (a
   * transformers.js folder: a Whisper export, or a CTC model in wav2vec2's
   * layout). Default the shipped demo `models/speech/shapes-asr`, which knows
   * the shape world's words only.
   */
  SPEECH_MODEL_DIR: z.string().min(1).default("./models/speech/shapes-asr"),
  /** Transcribe uploaded audio with SPEECH_MODEL_DIR (when that folder exists). Default true. */
  AUDIO_TRANSCRIPTS: z.stringbool().default(true),
  /** Index stored images in the background (CLIP embeddings, captions). Default true. */
  IMAGE_INDEXER: z.stringbool().default(true),
  /** Let the chat model caption images while it is idle. Default true. */
  IMAGE_CAPTIONS: z.stringbool().default(true),
  /**
   * Where captions are written. `process` (default for local models): a
   * second, lowest-priority process on the same GGUF files (CPU only), frozen
   * while any answer runs, so captions never delay one. `engine`: on the
   * chat engine itself, only while it is idle, giving way when an answer
   * starts (the only choice for ENGINE=remote; uses the GPU, but an answer
   * arriving mid-caption waits for the caption's image encoding).
   */
  CAPTIONS_ON: z.enum(["process", "engine"]).default("process"),
  /** Pause between two indexed images, in ms (spreads the back-fill of a large library). Default 0. */
  IMAGE_INDEX_PAUSE_MS: intFrom(0, 60_000).default(0),
  /** Explicit language-model GGUF; overrides the catalog's default pick. */
  MODEL_PATH: z.string().min(1).optional(),
  /** Explicit mmproj GGUF for MODEL_PATH. */
  MMPROJ_PATH: z.string().min(1).optional(),
  /**
   * Where the model runs. `auto` (default): remote when ENGINE_URL is set,
   * else a supervised llama-server when one is built (`npm run engine:build`)
   * or given (LLAMA_SERVER_PATH), else in-process.
   */
  ENGINE: z.enum(["auto", "in-process", "llama-server", "remote"]).default("auto"),
  /** Comma-separated base URLs of OpenAI-compatible servers (llama-server, vLLM, Ollama's /v1) for the remote engine. */
  ENGINE_URL: z
    .string()
    .transform((v) => v.split(",").map((u) => u.trim()).filter(Boolean))
    .pipe(z.array(z.url({ protocol: /^https?$/, error: "must be http(s) URLs, separated by commas" })).min(1))
    .optional(),
  /** Bearer token sent to every ENGINE_URL server. */
  ENGINE_API_KEY: z.string().min(1).optional(),
  /**
   * An image generation server with OpenAI's `/v1/images/generations`
   * (stable-diffusion.cpp's server, LocalAI, …): its base URL, with or without
   * `/v1`. Unset (the default): the project's own shape-world generator, when
   * its model files are there.
   */
  IMAGE_ENGINE_URL: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Bearer token sent to IMAGE_ENGINE_URL. */
  IMAGE_ENGINE_API_KEY: z.string().min(1).optional(),
  /** The `model` asked of IMAGE_ENGINE_URL (LocalAI needs one; stable-diffusion.cpp ignores it). Default: none sent. */
  IMAGE_ENGINE_MODEL: z.string().min(1).max(200).optional(),
  /** Sizes IMAGE_ENGINE_URL makes, comma-separated `WxH`. Default `256x256,512x512,1024x1024`. */
  IMAGE_ENGINE_SIZES: z
    .string()
    .default("256x256,512x512,1024x1024")
    .transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[1-9]\d{1,4}x[1-9]\d{1,4}$/, "must be sizes like 512x512, separated by commas")).min(1)),
  /** Longest one request to IMAGE_ENGINE_URL may take, in milliseconds. Default 300 000 (5 minutes). */
  IMAGE_ENGINE_TIMEOUT_MS: intFrom(1000, 3_600_000).default(300_000),
  /** Image generations one user may have waiting or running at once; more are refused with 429. Default 4. */
  IMAGE_QUEUE_PER_USER: intFrom(1, 100).default(4),
  /** Images one user's API keys may have made per minute through /v1/images/generations, all keys together (each of `n` counts); more are refused with 429. Default 20. */
  IMAGE_RATE_LIMIT_PER_MINUTE: intFrom(1, 100_000).default(20),
  /** A llama-server executable to supervise instead of the one `npm run engine:build` makes. */
  LLAMA_SERVER_PATH: z.string().min(1).optional(),
  /**
   * With ENGINE=auto and no llama-server built, build one in the background
   * at the lowest priority and move to it when done (lib/engine/auto-build.ts).
   * `0`, `false`, `off` or `no` turns this off. Default on.
   */
  ENGINE_AUTOBUILD: z
    .string()
    .default("1")
    .transform(autoBuildEnabled),
  /** A shell command line that replaces `npm run engine:build` for that background build (another recipe, or a test's stand-in). */
  ENGINE_BUILD_COMMAND: z.string().min(1).optional(),
  /** Where `npm run models:pull` and the Models page pull from: a Hugging Face mirror. Default https://huggingface.co. */
  HF_ENDPOINT: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).optional(),
  /** Access token sent to HF_ENDPOINT, for gated or private repositories. */
  HF_TOKEN: z.string().min(1).optional(),
  /** GPU backend: auto picks CUDA or Vulkan only if it really loads. */
  GPU: z.enum(["auto", "cuda", "vulkan", "cpu"]).default("auto"),
  /** Layers to offload: `auto` (all that fit) or a count. */
  GPU_LAYERS: autoOrInt.default("auto"),
  /** Context window in tokens. Default 4096. */
  CONTEXT_SIZE: intFrom(256, 1 << 20).default(4096),
  /** CPU threads for inference. Default: in-process cores − 1 (1–4); llama-server the physical cores (at most 8). */
  THREADS: intFrom(1, 1024).optional(),
  /**
   * The most context tokens one image may cost; larger images are downscaled
   * to fit before they reach the model (families whose cost grows with the
   * image: Qwen2.5-VL, LLaVA-1.6, MiniCPM-V, Pixtral). A number for
   * every model, or per model: `qwen2.5-vl-7b=2048,gemma-3-4b=256,*=1024`
   * (catalog ids; `*` the rest). 0: no cap. Default: a quarter of CONTEXT_SIZE.
   */
  MAX_IMAGE_TOKENS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const out: Record<string, number> = {};
      if (!v?.trim()) return out;
      for (const part of v.split(",").map((p) => p.trim()).filter(Boolean)) {
        const m = /^(?:(.+?)\s*=\s*)?(\d+)$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: "custom", message: `"${part}" is not a token count or id=count` });
          return z.NEVER;
        }
        out[m[1] ?? "*"] = Number(m[2]);
      }
      return out;
    }),
  /**
   * LoRA adapters turned on by what a conversation shows the model, when
   * neither the request nor the conversation names adapters:
   * `chart=chart-skill,spectrogram=audio-skill` (attachment kind = adapter
   * name; kinds: image, chart, spectrogram, audio, video, page), or `kinds`
   * (every adapter whose `lvc.adapter.kinds` lists a kind present). Default off.
   */
  ADAPTERS_AUTO: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseAutoAdapters(v);
      } catch (err) {
        ctx.addIssue({ code: "custom", message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Longest answer in tokens (also capped at half the context). Default 1024. */
  MAX_ANSWER_TOKENS: intFrom(16, 1 << 20).default(1024),
  /** Conversations served at once by one model. Default 4. */
  PARALLEL_SLOTS: intFrom(1, 64).default(4),
  /** Requests allowed to wait for a slot before the API answers 503. Default 16. */
  QUEUE_LIMIT: intFrom(0, 10_000).default(16),
  /**
   * Longest a turn may take to start (its prompt built and fitted to the
   * context), in ms; past it the turn ends as an error and frees its slot.
   * Default 60 000.
   */
  TURN_START_TIMEOUT_MS: intFrom(1000, 3_600_000).default(60_000),
  /**
   * Bytes of large request bodies (API chat, embeddings, imports) read into
   * memory at once, across all requests; a body waits for room, and is
   * refused with 503 when it cannot get it in 30 s. Default 256 MiB.
   */
  LARGE_BODY_BUDGET_BYTES: intFrom(1024 * 1024).default(256 * 1024 * 1024),
  /** Largest accepted upload in bytes. Default 20 MiB. */
  UPLOAD_MAX_BYTES: intFrom(1024).default(20 * 1024 * 1024),
  /** Largest accepted decoded image in pixels (width × height). Default 80 M. */
  UPLOAD_MAX_PIXELS: intFrom(1).default(80_000_000),
  /** Longest side kept after normalisation; larger photos are downscaled. Default 2048 px. */
  UPLOAD_MAX_SIDE: intFrom(32, 16384).default(2048),
  /** Largest accepted import file (a JSON export, images included as base64) in bytes. Default 100 MiB. */
  IMPORT_MAX_BYTES: intFrom(1024).default(100 * 1024 * 1024),
  /** Images allowed in one message. Default 8. */
  MAX_IMAGES_PER_MESSAGE: intFrom(1, 64).default(8),
  /** Frames sampled from a video (uniformly plus scene changes), each one image for the model. Default 8. */
  VIDEO_MAX_FRAMES: intFrom(1, 64).default(8),
  /** Longest accepted video or audio, in seconds. Default 900 (15 minutes). */
  MEDIA_MAX_SECONDS: intFrom(1, 24 * 3600).default(900),
  /** Most pages of a PDF that are read. Default 50. */
  PDF_MAX_PAGES: intFrom(1, 2000).default(50),
  /** PDF page images given to the model per question (the best-matching pages of a longer document). Default 4. */
  PDF_PROMPT_PAGES: intFrom(1, 64).default(4),
  /** Most rows of a table (CSV, TSV, JSON, XLSX). Default 100 000. */
  DATA_MAX_ROWS: intFrom(1).default(100_000),
  /** Most columns of a table. Default 100. */
  DATA_MAX_COLUMNS: intFrom(1, 10_000).default(100),
  /** Time one media file's decoding may take, in ms, before it is stopped and refused. Default 120 000. */
  MEDIA_DECODE_TIMEOUT_MS: intFrom(1000).default(120_000),
  /** Memory for the process that decodes one media file, in MiB. Default 512. */
  MEDIA_DECODE_MEMORY_MB: intFrom(64).default(512),
  /** Secret for session tokens; generated once into `<DATA_DIR>/auth-secret` when unset. */
  AUTH_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  /** Interface to listen on. Default 127.0.0.1 (loopback only). */
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Port to listen on. Default 3000. */
  PORT: intFrom(1, 65535).default(3000),
  /**
   * The origin people reach the app at, e.g. `https://chat.example.com`.
   * Sign-in redirects and the callback-url cookie use it, never the request's
   * `Host` or `X-Forwarded-Host`, and state-changing requests must come from
   * it (or from the address the server listens on). Default
   * `http://<HOST>:<PORT>` (127.0.0.1 when HOST listens on every interface).
   */
  APP_URL: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .refine((u) => new URL(u).pathname === "/" && !new URL(u).search, "must be an origin like https://chat.example.com, without a path")
    .transform((u) => new URL(u).origin)
    .optional(),
  /**
   * Trust `X-Forwarded-For` and `X-Forwarded-Proto` from a reverse proxy in
   * front of the app. Default false: the server overwrites the first with the
   * socket address (so sign-in rate limits per IP cannot be dodged by forging
   * it) and drops the other forwarded headers. `X-Forwarded-Host` is never
   * used: the canonical host is APP_URL's.
   */
  TRUST_PROXY: z.stringbool().default(false),
  /**
   * bcrypt cost of new password hashes (2^N rounds): 11 by default, about
   * 150 ms a hash on one core of a small CPU, 13 at most (four times that).
   * Changing it locks nobody out: a hash of another cost still checks, and is
   * made again at this cost at its owner's next sign-in (so that sign-in
   * times do not tell such accounts from unknown emails). Below 10 is weak
   * and `npm start` says so: it is for test suites, which sign up hundreds of
   * accounts (4 makes a hash take under a millisecond).
   */
  PASSWORD_HASH_COST: intFrom(4, 13).default(11),
  /** Sign-in attempts allowed per client address in 10 minutes. Default 30. */
  SIGNIN_LIMIT_PER_IP: intFrom(1).default(30),
  /**
   * Sign-in attempts allowed per client address and email in 10 minutes
   * (reset by a success), each failure delaying that address's next attempt
   * more (up to 4 s). Other addresses are not affected. Default 8.
   */
  SIGNIN_LIMIT_PER_EMAIL: intFrom(1).default(8),
  /**
   * Failed sign-ins to one account from all addresses in 10 minutes past
   * which addresses that never signed in to it are refused at once (a
   * spray); the owner's usual addresses still get in. Default 100.
   */
  SIGNIN_ACCOUNT_FAILURE_LIMIT: intFrom(1).default(100),
  /** Requests per minute one user may make to /v1 (all their API keys together). Default 120. */
  API_RATE_LIMIT_PER_MINUTE: intFrom(1).default(120),
  /**
   * Who may change server-wide settings (the loaded model): comma-separated
   * emails, or "*" for every account. Unset: the first account created.
   */
  ADMIN_EMAILS: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.split(",").map((e) => e.trim().toLowerCase()).filter(Boolean))),
  /** Accounts created per client address per hour. Default 20. */
  SIGNUP_LIMIT_PER_IP: intFrom(1).default(20),
  /**
   * On SIGTERM/SIGINT, how long answers being written get to be saved and the
   * model to be unloaded before the process exits anyway, in milliseconds. Default 10 s.
   */
  SHUTDOWN_TIMEOUT_MS: intFrom(1000, 600_000).default(10_000),
  /**
   * How long an app instance counts as alive after its last heartbeat, in
   * milliseconds (renewed every quarter of it). When it lapses (the process
   * was killed or hung), another instance, or this one restarted, closes the
   * answers it was writing as stopped. Default 20 s.
   */
  INSTANCE_LEASE_MS: intFrom(2000, 600_000).default(20_000),
});

export type RawEnv = z.infer<typeof envSchema>;

export type Env = Omit<RawEnv, "DATABASE_URL" | "UPLOAD_DIR" | "AUTH_SECRET" | "APP_URL"> & {
  APP_URL: string;
  DATABASE_URL: string;
  UPLOAD_DIR: string;
  AUTH_SECRET: string;
};

/** Thrown for a configuration mistake; the message is one line naming the variable. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Reads the secret from `<dataDir>/auth-secret`, creating it (mode 0600) on
 * first use. Safe when several processes race: the loser reads the winner's.
 */
export function ensureAuthSecret(dataDir: string): string {
  const file = path.join(dataDir, "auth-secret");
  // The data folder holds every conversation and image (and the SQLite file, which is created
  // 0644): only this user may enter it.
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  try {
    fs.writeFileSync(file, randomBytes(32).toString("base64url"), { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const secret = fs.readFileSync(file, "utf8").trim();
  if (secret.length < 32) throw new ConfigError(`${file}: the stored auth secret is too short; delete the file to regenerate it`);
  return secret;
}

/** The database URL alone (for the Prisma CLI, which must not need the rest). */
export function resolveDatabaseUrl(source: Record<string, string | undefined> = process.env): string {
  if (source.DATABASE_URL) return source.DATABASE_URL;
  return `file:${path.join(abs(source.DATA_DIR || "./data"), "app.db")}`;
}

const WILDCARD_HOSTS: Record<string, string> = { "0.0.0.0": "127.0.0.1", "::": "::1", "[::]": "::1" };

/** `http://<host>:<port>` for a HOST value: IPv6 in brackets, a wildcard address as its loopback. */
export function listenOrigin(host: string, port: number): string {
  const h = WILDCARD_HOSTS[host] ?? host;
  return `http://${h.includes(":") && !h.startsWith("[") ? `[${h}]` : h}:${port}`;
}

/** Validates `source` (default `process.env`) and fills in derived defaults. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  const blankToUndefined = Object.fromEntries(
    Object.keys(envSchema.shape).map((k) => [k, source[k] === "" ? undefined : source[k]]),
  );
  const parsed = envSchema.safeParse(blankToUndefined);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0]);
    throw new ConfigError(`Invalid configuration: ${name}=${JSON.stringify(source[name])}: ${issue.message}`);
  }
  const raw = parsed.data;
  const dataDir = abs(raw.DATA_DIR);
  return {
    ...raw,
    APP_URL: raw.APP_URL ?? listenOrigin(raw.HOST, raw.PORT),
    DATA_DIR: dataDir,
    MODELS_DIR: abs(raw.MODELS_DIR),
    CLIP_MODEL_DIR: abs(raw.CLIP_MODEL_DIR),
    SPEECH_MODEL_DIR: abs(raw.SPEECH_MODEL_DIR),
    MODEL_PATH: raw.MODEL_PATH && abs(raw.MODEL_PATH),
    MMPROJ_PATH: raw.MMPROJ_PATH && abs(raw.MMPROJ_PATH),
    LLAMA_SERVER_PATH: raw.LLAMA_SERVER_PATH && abs(raw.LLAMA_SERVER_PATH),
    DATABASE_URL: resolveDatabaseUrl({ DATABASE_URL: raw.DATABASE_URL, DATA_DIR: dataDir }),
    UPLOAD_DIR: abs(raw.UPLOAD_DIR ?? path.join(dataDir, "uploads")),
    AUTH_SECRET: raw.AUTH_SECRET ?? ensureAuthSecret(dataDir),
  };
}
