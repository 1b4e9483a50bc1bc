// The background model process (see lib/engine/background-model.ts): the
// chat model's own GGUF files, loaded a second time (the weights are
// mmapped, so the page cache holds them once) in a process of its own at the
// lowest CPU priority, for work no user waits for: image captions. The app
// freezes this process (SIGSTOP) whenever an answer runs and lets it go on
// (SIGCONT) when the engine is idle again, so background work never shares
// the CPU with an answer and loses nothing when it gives way.
//
// Protocol (Node IPC, JSON): the parent sends
//   { type: "load", model, mmproj, contextSize, threads }
//   { type: "generate", id, prompt, images, maxTokens }
// and gets back { type: "ready" }, { type: "result", id, text } or
// { type: "error", id?, message }. Requests run one after another, in order.
//
// Plain JavaScript, so `next start` can run it without a TypeScript loader.
import os from "node:os";
import { loadModel } from "@fugood/llama.node";

try {
  os.setPriority(19);
} catch {
  // Lowering one's own priority needs no privilege; if the OS refuses, the freeze still holds.
}

/** @type {Awaited<ReturnType<typeof loadModel>> | null} */
let ctx = null;

const send = (msg) => process.send?.(msg);
const message = (err) => (err instanceof Error ? err.message : String(err)).split("\n")[0];

async function load({ model, mmproj, contextSize, threads }) {
  ctx = await loadModel({ model, n_ctx: contextSize, n_batch: 512, n_threads: threads, n_gpu_layers: 0 });
  if (mmproj && !ctx.initMultimodal({ path: mmproj, use_gpu: false })) throw new Error(`the vision projector ${mmproj} did not load`);
}

async function generate({ prompt, images, maxTokens }) {
  if (!ctx) throw new Error("no model loaded");
  const result = await ctx.completion({
    prompt,
    media_paths: images.length ? images : undefined,
    n_predict: maxTokens,
    temperature: 0,
    // Neutral values for every other sampler, as the engine's backends use them.
    top_k: 1,
    min_p: 0,
    typ_p: 1,
    penalty_last_n: 0,
    penalty_repeat: 1,
    dry_multiplier: 0,
    xtc_probability: 0,
  });
  return result.text;
}

/** The binding runs one completion at a time: requests wait their turn here. */
let queue = Promise.resolve();

process.on("message", (msg) => {
  if (msg?.type === "load") {
    load(msg).then(
      () => send({ type: "ready" }),
      (err) => send({ type: "error", message: message(err) }),
    );
  } else if (msg?.type === "generate") {
    queue = queue.then(() => generate(msg)).then(
      (text) => send({ type: "result", id: msg.id, text }),
      (err) => send({ type: "error", id: msg.id, message: message(err) }),
    );
  }
});

// The app went away (or closed the channel on purpose): nothing else needs this process.
process.on("disconnect", () => process.exit(0));
