// npm run bench:media — what reading each kind of upload costs, and whether
// reading one slows down someone else's answer. Through the real app server
// (POST /api/uploads, the decoding process, storage, rows), on files made
// here with the shipped ffmpeg:
//   video_prep_ms_per_s    upload → 201 of a 60 s 320×240 25 fps H.264 clip, per second of video
//   audio_prep_ms_per_s    a 60 s 16 kHz WAV, per second of audio
//   pdf_prep_ms_per_page   a 10-page PDF, per page
//   csv_prep_ms_per_krow   a 20 000-row CSV, per 1 000 rows
//   answer_delay_during_prep  median time to first token of a chat answer while another
//                          user's 10-minute video is being read, over the median of the same
//                          answers idle, before and after the read (≤ 1.15 wanted)
// Prints one MEDIA line (and the raw numbers). BENCH_REPS (default 3) answers each way.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readSseJson } from "../lib/engine/sse";
import { newConversation } from "../tests/helpers/chat";
import { TestClient } from "../tests/helpers/client";
import { FFMPEG, chirp, salesCsv, textPdf, wav } from "../tests/helpers/media-files";
import { startServer } from "../tests/helpers/server";

const root = path.resolve(import.meta.dirname, "..");
process.chdir(root);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function testVideo(seconds: number, size: string, rate: number): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-media-"));
  try {
    const out = path.join(dir, "v.mp4");
    // testsrc2 moves every frame; a cut every 10 s (a hue change) gives the scene detector work.
    execFileSync(FFMPEG, ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`, "-vf", "hue=h=36*floor(t/10)", "-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p", out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function upload(client: TestClient, bytes: Buffer, name: string): Promise<number> {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)]), name);
  const t0 = performance.now();
  const res = await client.fetch("/api/uploads", { method: "POST", body: form });
  const ms = performance.now() - t0;
  if (res.status !== 201) throw new Error(`${name}: ${res.status} ${await res.text()}`);
  return ms;
}

/** Time to the first text of an answer, in ms. */
async function ttft(client: TestClient, i: number): Promise<number> {
  const id = await newConversation(client);
  const t0 = performance.now();
  const res = await client.fetch("/api/chat", { method: "POST", json: { id, message: { role: "user", parts: [{ type: "text", text: `Question ${i}: which shapes and colours do you know?` }] } } });
  let first = 0;
  for await (const chunk of readSseJson<{ type: string }>(res.body!)) {
    if (chunk.type === "text-delta" && !first) first = performance.now() - t0;
  }
  if (!first) throw new Error("no text in the answer");
  return first;
}

async function main() {
  // The files first: made after sign-in, the pause let the server close the idle keep-alive socket fetch then reused (EPIPE).
  console.log("making the files…");
  const video60 = testVideo(60, "320x240", 25);
  const video600 = testVideo(600, "320x240", 25);
  const audio60 = wav(chirp(60));
  const pdf10 = textPdf(Array.from({ length: 10 }, (_, i) => ({ text: `Page ${i + 1} of the benchmark document`, shape: i % 2 ? "circle" : "square" })));
  const csv20k = salesCsv(20_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-bench-media-"));
  const server = await startServer({ dataDir, env: { UPLOAD_MAX_BYTES: String(64 * 1024 * 1024), IMAGE_CAPTIONS: "false", ENGINE_AUTOBUILD: "0", MEDIA_DECODE_TIMEOUT_MS: "600000" } });
  try {
    const alice = new TestClient(server.url, "127.0.0.1");
    const bob = new TestClient(server.url, "127.0.0.2");
    await alice.newAccount();
    await bob.newAccount();
    for (let i = 0; i < 600; i++) {
      const h = (await (await fetch(`${server.url}/api/health`)).json()) as { model: { status: string } };
      if (h.model.status === "ready") break;
      await new Promise((r) => setTimeout(r, 200));
    }

    const video = await upload(alice, video60, "v.mp4");
    const audio = await upload(alice, audio60, "a.wav");
    const pdf = await upload(alice, pdf10, "d.pdf");
    const csv = await upload(alice, csv20k, "t.csv");

    await ttft(alice, -1); // warm-up
    const idle: number[] = [];
    for (let i = 0; i < REPS; i++) idle.push(await ttft(alice, i));
    // Bob's 10-minute video is read while Alice asks.
    const busy: number[] = [];
    const long = upload(bob, video600, "long.mp4");
    let reading = true;
    void long.finally(() => (reading = false));
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < REPS && reading; i++) busy.push(await ttft(alice, 100 + i));
    const longMs = await long;
    if (busy.length < REPS) console.log(`note: the 10-minute video was read in ${(longMs / 1000).toFixed(1)} s, before all ${REPS} answers (${busy.length} measured during it)`);
    // Idle again once it is read: on a shared machine the load drifts, and the idle answers on both
    // sides of the read (one median of all of them) are a fairer yardstick than those before it only.
    const idleAfter: number[] = [];
    for (let i = 0; i < REPS; i++) idleAfter.push(await ttft(alice, 200 + i));
    const delay = busy.length ? median(busy) / median([...idle, ...idleAfter]) : NaN;

    console.log(`video 60 s: ${video.toFixed(0)} ms; audio 60 s: ${audio.toFixed(0)} ms; pdf 10 pages: ${pdf.toFixed(0)} ms; csv 20k rows: ${csv.toFixed(0)} ms`);
    console.log(`10-minute video read in ${(longMs / 1000).toFixed(1)} s (${(longMs / 600).toFixed(0)} ms per s); ttft idle ${idle.map((x) => x.toFixed(0)).join(", ")} ms; during ${busy.map((x) => x.toFixed(0)).join(", ")} ms; idle after ${idleAfter.map((x) => x.toFixed(0)).join(", ")} ms (over the idle before only: ${(median(busy) / median(idle)).toFixed(2)})`);
    console.log(
      `MEDIA video_prep_ms_per_s=${(video / 60).toFixed(0)} audio_prep_ms_per_s=${(audio / 60).toFixed(1)} pdf_prep_ms_per_page=${(pdf / 10).toFixed(0)} csv_prep_ms_per_krow=${(csv / 20).toFixed(0)} answer_delay_during_prep=${delay.toFixed(2)}`,
    );
  } catch (err) {
    console.error(server.output().slice(-3000));
    throw err;
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
