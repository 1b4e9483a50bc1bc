// npm run test:reliability — a bounded, loopback-only reliability run against
// the real server (`npm start`) on the shipped tiny model (models/tiny):
//
//   1. every bad upload and body case, with its expected status;
//   2. a client that disconnects mid-answer (the answer goes on and is saved complete; a page that comes back joins it);
//   3. 16 concurrent image chats (8 users, 2 conversations each at a time) for
//      60 s, on PARALLEL_SLOTS=4 and QUEUE_LIMIT=4, so that some are refused
//      with 503 + Retry-After (the clients wait as told, then retry);
//   4. kill -9 of the server mid-stream, at the end of that load, then a
//      restart on the same data: every answer the kill cut is closed as
//      stopped (with what was saved of its text), everything else is intact;
//   5. every row checked: no answer lost, none misrouted (each answer and
//      question in its own conversation, of its own user);
//   6. SIGTERM mid-stream: each open stream gets a final error event, each
//      answer is saved as stopped with its text, and the process exits 0
//      within SHUTDOWN_TIMEOUT_MS, its instance lease removed.
//
//   7. three bursts of 16 concurrent /v1 image questions (48 streams): each
//      answered or refused with 503 + Retry-After, never a 500 or an empty answer;
//   8. answers never cross: 32 concurrent questions, each about its own
//      image of one colour, 5 rounds, then a follow-up on each (cached states
//      restored under load): every answer names its own image's colour as
//      the same question alone did;
//   9. an import of 10 000 conversations while 8 chats stream: the event
//      loop's delay (p99, from /api/health) stays under LOOP_P99_BOUND_MS
//      (500 ms), or three times what the chats alone give on a slower machine;
//  10. sign-in under a spray: 5 wrong passwords, then 15 at once from 15
//      addresses; the owner's right password, from the address the account
//      was made from, gets in within 5 s; the same password from a new
//      address gets in too (its time is printed: it waits its turn).
//
// It prints exactly one line (on stdout) and exits non-zero if an invariant
// fails, saying which on stderr:
// RELIABILITY engine=… streams=N completed=N refused_503=N http_500=0 empty=0 crossed=0 lost=0 misrouted=0 loop_p99_ms=N import_10k_s=N signin_under_spray_s=N kill9_recovered=yes sigterm_clean=yes bad_inputs=N/N
//
// TEST_ENGINE=llama-server runs it on the llama-server engine (npm test runs both).
// RELIABILITY_ENGINE_ONLY=1 leaves out the phases that do not involve the
// engine (bad inputs, the import, the sign-in spray; their fields print
// "skipped"): npm test runs them once, on the in-process run.
// RELIABILITY_FLOOD_S shortens the load (default 60), RELIABILITY_VERBOSE=1
// narrates on stderr, TEST_DATABASE_URL (a PostgreSQL admin URL) runs it on a PostgreSQL database of its own.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { PrismaClient } from "@prisma/client";
import sharp from "sharp";
import { ORPHANED_ANSWER_ERROR } from "../../lib/chat/message-parts";
import { chat, fixture, newConversation, resume, textOf, userMessage, type Chunk, type SavedMessage } from "../helpers/chat";
import { TestClient } from "../helpers/client";
import { connectDatabase } from "../../lib/db/connect";
import { databaseUrlFor } from "../helpers/database";
import { pngBomb, solid, svgWithScript, truncatedJpeg } from "../helpers/images";
import { rawRequest } from "../helpers/raw-request";
import { startServer, type RunningServer } from "../helpers/server";
import { readSseJson } from "../../lib/engine/sse";
import { COLOURS, rng, scene, SHAPES, singleShapeSvg } from "../helpers/shape-scenes";

const started = Date.now();
const FLOOD_MS = Number(process.env.RELIABILITY_FLOOD_S ?? 60) * 1000;
const WORKERS = 16;
const USERS = 8;
const SHUTDOWN_TIMEOUT_MS = 10_000;
/** The default lease: what a real deployment waits before a dead instance's answers are closed. */
const LEASE_MS = 20_000;
const verbose = process.env.RELIABILITY_VERBOSE === "1";
const ENGINE_ONLY = process.env.RELIABILITY_ENGINE_ONLY === "1";
const say = (msg: string) => verbose && console.error(`[reliability ${((Date.now() - started) / 1000).toFixed(1)} s] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const failures: string[] = [];
const fail = (msg: string) => {
  failures.push(msg);
  say(`FAIL ${msg}`);
};
/** A failure that breaks an invariant of the summary line: returns false, its new value. */
const broken = (msg: string): false => {
  fail(msg);
  return false;
};
/** A failure that also counts as a lost or a misrouted answer. */
const count = (kind: "lost" | "misrouted", msg: string) => {
  counts[kind]++;
  fail(msg);
};

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "lvc-reliability-"));
const env: Record<string, string> = {
  TRUST_PROXY: "true",
  PARALLEL_SLOTS: "4",
  QUEUE_LIMIT: "4",
  SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
  INSTANCE_LEASE_MS: String(LEASE_MS),
  // The sign-in spray is timed against real password hashes (tests/helpers/server.ts makes them cheap).
  PASSWORD_HASH_COST: "11",
};
// The server's database (tests/helpers/server.ts): SQLite in dataDir, or a PostgreSQL database of its own under TEST_DATABASE_URL (an admin URL).
const databaseUrl = await databaseUrlFor(dataDir);
let server: RunningServer | undefined;
let db: PrismaClient;

// ---------------------------------------------------------------- records

/** One chat POST and what its client saw. */
interface Stream {
  phase: "disconnect" | "flood" | "sigterm";
  user: number;
  conversationId: string;
  /** Unique, in the question's text: where each question ends up tells whether it was misrouted. */
  tag: string;
  chunks: Chunk[];
  assistantMessageId?: string;
  /** How the client saw it end: a stream that finished, ended with an error event, or was cut; or a refusal (no stream). */
  outcome: "open" | "complete" | "error" | "cut" | "refused";
}
const streams: Stream[] = [];
/** Posted and not ended (waiting for a slot, or streaming). */
const open = new Set<Stream>();
const conversationsOf: Set<string>[] = Array.from({ length: USERS }, () => new Set());
const counts = { streams: 0, completed: 0, refused503: 0, lost: 0, misrouted: 0, http500: 0, empty: 0, crossed: 0 };
/** Event-loop delay p99 during the big import, ms; seconds it took; seconds the owner's sign-in took under a spray. */
const figures = { loopP99Ms: -1, loopP99BaselineMs: -1, import10kS: -1, signinUnderSprayS: -1, signinNewAddressS: -1 };
/** The bound on the event loop's p99 delay while a 10 000-conversation import runs beside answers. */
const LOOP_P99_BOUND_MS = Number(process.env.RELIABILITY_LOOP_P99_MS ?? 500);
const ENGINE = process.env.TEST_ENGINE ?? "in-process";
let seq = 0;

const QUESTIONS = ["What is in this picture?", "Describe the image.", "How many shapes are there?", "What colour is the circle?", "Is there a square?"];

/** Posts one turn and follows its stream; returns the HTTP status (0: the connection failed). */
async function turn(
  phase: Stream["phase"],
  user: number,
  client: TestClient,
  conversationId: string,
  imageUrl: string | undefined,
  onChunk?: (s: Stream, c: Chunk) => boolean | void,
): Promise<{ status: number; headers?: Headers; stream?: Stream }> {
  const tag = `#${phase[0]}${++seq}`;
  const s: Stream = { phase, user, conversationId, tag, chunks: [], outcome: "open" };
  const question = `${QUESTIONS[seq % QUESTIONS.length]} ${tag}`;
  streams.push(s);
  open.add(s);
  try {
    const r = await chat(client, { id: conversationId, message: userMessage(question, imageUrl ? [imageUrl] : []) }, {
      onChunk: (c, all) => {
        s.chunks = all;
        if (c.type === "start") s.assistantMessageId = c.messageMetadata?.assistantMessageId as string | undefined;
        return onChunk?.(s, c);
      },
    });
    open.delete(s);
    if (r.status !== 200) {
      s.outcome = "refused";
      return { status: r.status, headers: r.headers };
    }
    const last = s.chunks.at(-1);
    s.outcome = s.chunks.some((c) => c.type === "error") ? "error" : last?.type === "finish" ? "complete" : "cut";
    return { status: 200, stream: s };
  } catch {
    open.delete(s);
    s.outcome = "cut";
    return { status: 0, stream: s };
  }
}

// ---------------------------------------------------------------- phases

async function upload(client: TestClient, bytes: Buffer, headers: Record<string, string> = {}) {
  const form = new FormData();
  form.append("file", new Blob([new Uint8Array(bytes)], { type: "image/png" }), "image.png");
  const res = await client.fetch("/api/uploads", { method: "POST", body: form, headers });
  const body = (await res.json().catch(() => ({}))) as { attachment?: { url: string; width: number; height: number } };
  return { status: res.status, attachment: body.attachment };
}

/** Every bad upload and body case, each with the status it must get. */
async function badInputs(alice: TestClient, bob: TestClient, bobsConversation: string, bobsImage: string): Promise<{ passed: number; total: number }> {
  const base = alice.baseUrl;
  const cookie = alice.cookieHeader();
  const cases: [string, number, () => Promise<number>][] = [
    ["upload: PDF bytes named image.png", 400, async () => (await upload(alice, Buffer.from("%PDF-1.4\n%âãÏÓ\n1 0 obj\n"))).status],
    ["upload: SVG with a script", 415, async () => (await upload(alice, svgWithScript())).status],
    ["upload: truncated JPEG", 400, async () => (await upload(alice, await truncatedJpeg())).status],
    ["upload: pixel bomb (900 megapixels claimed)", 413, async () => (await upload(alice, pngBomb(30000, 30000))).status],
    [
      "upload: 50-megapixel photo (accepted, downscaled to 2048 px)",
      201,
      async () => {
        const r = await upload(alice, await solid(10000, 5000).png().toBuffer());
        return r.status === 201 && Math.max(r.attachment!.width, r.attachment!.height) > 2048 ? -1 : r.status;
      },
    ],
    [
      "upload: declared body over UPLOAD_MAX_BYTES",
      413,
      async () =>
        (await rawRequest(`${base}/api/uploads`, { headers: { cookie, "content-type": "multipart/form-data; boundary=x", "content-length": String(21 * 1024 * 1024) } }))
          .status,
    ],
    [
      "chat: 10 MB JSON body",
      413,
      async () => (await rawRequest(`${base}/api/chat`, { headers: { cookie, "content-type": "application/json", "content-length": String(10 * 1024 * 1024) } })).status,
    ],
    [
      "sign-up: 1 MB JSON body, unauthenticated",
      413,
      async () => (await rawRequest(`${base}/api/signup`, { headers: { "content-type": "application/json", "content-length": String(1024 * 1024) } })).status,
    ],
    ["conversations: malformed JSON", 400, async () => (await alice.fetch("/api/conversations", { method: "POST", headers: { "content-type": "application/json" }, body: "{nope" })).status],
    ["conversations: JSON sent as text/plain", 415, async () => (await alice.fetch("/api/conversations", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" })).status],
    ["chat: JSON sent as text/plain", 415, async () => (await alice.fetch("/api/chat", { method: "POST", headers: { "content-type": "text/plain" }, body: "{}" })).status],
    ["conversations: cross-origin POST with the user's cookie", 403, async () => (await alice.fetch("/api/conversations", { method: "POST", headers: { origin: "http://evil.example" }, json: {} })).status],
    ["uploads: cross-origin POST with the user's cookie", 403, async () => (await upload(alice, fixture("red-circle.png"), { origin: "http://evil.example" })).status],
    [
      "chat: cross-origin POST with the user's cookie",
      403,
      async () => (await alice.fetch("/api/chat", { method: "POST", headers: { origin: "http://evil.example" }, json: { id: bobsConversation, message: userMessage("hi") } })).status,
    ],
    ["chat: someone else's conversation id", 404, async () => (await chat(alice, { id: bobsConversation, message: userMessage("Whose is this?") })).status],
    [
      "chat: someone else's image",
      404,
      async () => {
        const mine = await newConversation(alice);
        conversationsOf[1]!.add(mine);
        return (await chat(alice, { id: mine, message: userMessage("And this?", [bobsImage]) })).status;
      },
    ],
    ["conversations: read someone else's", 404, async () => (await alice.fetch(`/api/conversations/${bobsConversation}`)).status],
    ["conversations: delete someone else's", 404, async () => (await alice.fetch(`/api/conversations/${bobsConversation}`, { method: "DELETE" })).status],
    ["uploads: read someone else's image", 404, async () => (await alice.fetch(bobsImage)).status],
    ["chat: no session", 401, async () => (await chat(new TestClient(base), { id: bobsConversation, message: userMessage("hi") })).status],
  ];
  let passed = 0;
  for (const [what, want, run] of cases) {
    const got = await run().catch((err: Error) => `error: ${err.message}`);
    if (got === want) passed++;
    else fail(`bad input "${what}": got ${got}, expected ${want}`);
  }
  // Bob's conversation was not touched by any of it.
  const bobs = await bob.fetch(`/api/conversations/${bobsConversation}`);
  if (bobs.status !== 200 || ((await bobs.json()) as { conversation: { messages: unknown[] } }).conversation.messages.length !== 0) {
    fail("bad inputs: someone else's conversation changed");
  }
  const health = await fetch(`${base}/api/health`);
  if (!health.ok) fail(`bad inputs: the server is unhealthy afterwards (${health.status})`);
  return { passed, total: cases.length };
}

const health = async () => (await (await fetch(`${server!.url}/api/health`)).json()) as { model: { slotsBusy: number; queueLength: number } };

type Saved = SavedMessage;
const conversation = async (client: TestClient, id: string) => {
  const res = await client.fetch(`/api/conversations/${id}`);
  return res.status === 200 ? ((await res.json()) as { conversation: { messages: Saved[] } }).conversation.messages : null;
};
const answerText = (m: Saved) => m.parts.map((p) => p.text ?? "").join("");

/**
 * A client leaves as soon as its answer starts: the answer goes on (a reload,
 * a closed tab or a lost network stops nothing), is saved complete, and a
 * page that comes back mid-answer joins it from its start
 * (GET /api/chat/:id/stream) and reads the same text that is saved; the slot
 * is then free.
 */
async function disconnect(client: TestClient, imageUrls: string[]): Promise<void> {
  for (const imageUrl of imageUrls) {
    const id = await newConversation(client);
    conversationsOf[0]!.add(id);
    const { stream } = await turn("disconnect", 0, client, id, imageUrl, (_s, c) => c.type === "start");
    const left = Date.now();
    if (!stream) return fail("disconnect: no stream");
    // The page comes back: it joins the live answer (204 if it already ended).
    const back = await resume(client, id);
    const rejoined = back.status === 200 ? back.text : null;
    if (back.status !== 200 && back.status !== 204) fail(`disconnect: joining the answer again gave ${back.status}`);
    let answer: Saved | undefined;
    while ((answer = (await conversation(client, id))?.[1])?.status === "streaming") {
      if (Date.now() - left > 120_000) return fail("disconnect: the answer was still streaming 120 s after the client left");
      await sleep(100);
    }
    if (answer?.status !== "complete" || !answerText(answer)) return fail(`disconnect: the answer was saved as ${answer?.status} (${answer?.error}) after its client left`);
    if (rejoined !== null && rejoined !== answerText(answer)) fail(`disconnect: the page that came back read "${rejoined}", the saved answer is "${answerText(answer)}"`);
    while ((await health()).model.slotsBusy !== 0) {
      if (Date.now() - left > 130_000) return fail("disconnect: the slot was still busy after the answer was saved");
      await sleep(50);
    }
    stream.outcome = "cut";
    say(`disconnect: the answer went on without its client and was saved complete${rejoined !== null ? "; the page that came back read the same text" : ""}`);
    return;
  }
}

/** One of the 16 clients: conversations of three turns, the first with an image, until told to stop. */
async function floodWorker(w: number, clients: TestClient[], images: string[][], state: { stop: boolean }) {
  const user = w % USERS;
  const client = clients[user]!;
  let conversationId = "";
  let turns = 0;
  while (!state.stop) {
    if (!conversationId || turns >= 3) {
      conversationId = await newConversation(client).catch(() => "");
      if (!conversationId) return;
      conversationsOf[user]!.add(conversationId);
      turns = 0;
    }
    const image = turns === 0 ? images[user]![(w + seq) % images[user]!.length] : undefined;
    const r = await turn("flood", user, client, conversationId, image);
    if (state.stop) return;
    if (r.status === 200) {
      counts.streams++;
      if (r.stream!.outcome === "complete") {
        counts.completed++;
        if (!textOf(r.stream!.chunks).trim()) {
          counts.empty++;
          fail("flood: an empty answer");
        }
      } else {
        if (!textOf(r.stream!.chunks).trim()) counts.empty++;
        const id = r.stream!.assistantMessageId;
        const row = id ? await db.message.findUnique({ where: { id }, select: { status: true, error: true } }) : null;
        fail(`flood: a stream ended with ${r.stream!.outcome} (saved: ${row?.status}, ${row?.error}): ${JSON.stringify(r.stream!.chunks.filter((c) => c.type === "error"))}`);
      }
      turns++;
    } else if (r.status === 503) {
      counts.refused503++;
      const retryAfter = Number(r.headers?.get("retry-after"));
      if (!(retryAfter > 0)) fail(`flood: a 503 without Retry-After (${r.headers?.get("retry-after")})`);
      await sleep(Math.min(retryAfter || 1, 5) * 1000);
    } else {
      if (r.status >= 500) counts.http500++;
      fail(`flood: unexpected status ${r.status}`);
      await sleep(500);
    }
  }
}

async function makeImages(client: TestClient, user: number): Promise<string[]> {
  const urls: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { svg } = scene(rng(1000 + user * 10 + i), 256);
    const { status, attachment } = await upload(client, await sharp(Buffer.from(svg)).png().toBuffer());
    if (status !== 201) throw new Error(`upload failed: ${status}`);
    urls.push(attachment!.url);
  }
  return urls;
}

/** Reads every conversation of every user and checks each row against what the clients saw. */
async function checkRows(clients: TestClient[]): Promise<void> {
  const byTag = new Map(streams.map((s) => [s.tag, s]));
  const byAnswer = new Map(streams.flatMap((s) => (s.assistantMessageId ? [[s.assistantMessageId, s] as const] : [])));
  const seenAnswers = new Set<string>();
  for (const [user, client] of clients.entries()) {
    const listed = new Set<string>();
    for (let cursor: string | null = null; ; ) {
      const res = await client.fetch(`/api/conversations?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
      const page = (await res.json()) as { conversations: { id: string }[]; nextCursor: string | null };
      for (const c of page.conversations) listed.add(c.id);
      if (!(cursor = page.nextCursor)) break;
    }
    for (const id of listed) {
      if (conversationsOf[user]!.has(id)) continue;
      // Created just as the server was killed (the client never got its id): it must be empty.
      if ((await conversation(client, id))?.length === 0) continue;
      counts.misrouted++;
      fail(`user ${user} lists a conversation that is not theirs: ${id}`);
    }
    for (const id of conversationsOf[user]!) {
      if (!listed.has(id)) count("lost", `user ${user}'s conversation ${id} is missing`);
      const messages = (await conversation(client, id)) ?? [];
      const ids = new Set(messages.map((m) => m.id));
      for (const m of messages) {
        if (m.role === "user") {
          const tag = /#[dfs]\d+/.exec(answerText(m))?.[0];
          const s = tag ? byTag.get(tag) : undefined;
          if (!s || s.conversationId !== id || s.user !== user) count("misrouted", `question ${tag} found in conversation ${id} of user ${user}`);
          else if (s.outcome === "refused") fail(`question ${tag} was refused, yet saved`);
          continue;
        }
        seenAnswers.add(m.id);
        if (!m.parentId || !ids.has(m.parentId)) count("misrouted", `answer ${m.id} does not follow a question of its conversation`);
        if (m.status === "streaming") count("lost", `answer ${m.id} is still streaming`);
        const s = byAnswer.get(m.id);
        if (!s) {
          // An answer no client heard of: only one whose request was cut by the kill before its first chunk reached the client.
          const asked = byTag.get(/#[dfs]\d+/.exec(answerText(messages.find((q) => q.id === m.parentId) ?? m))?.[0] ?? "");
          if (asked?.outcome !== "cut" && m.status !== "stopped") fail(`answer ${m.id} (${m.status}) was never streamed to anyone`);
          continue;
        }
        if (s.conversationId !== id || s.user !== user) count("misrouted", `answer ${m.id} is in conversation ${id}, streamed for ${s.conversationId}`);
        const saved = answerText(m);
        const seen = textOf(s.chunks);
        if (s.outcome === "complete" && (m.status !== "complete" || saved !== seen)) count("lost", `completed answer ${m.id} (${s.phase}) saved as ${m.status} (${m.error}) "${saved}" (client saw "${seen}": ${JSON.stringify(s.chunks).slice(0, 600)})`);
        if (m.status === "stopped" && s.phase !== "disconnect" && !seen.startsWith(saved) && !saved.startsWith(seen)) {
          counts.lost++;
          fail(`stopped answer ${m.id}: saved "${saved}" and seen "${seen}" disagree`);
        }
      }
    }
  }
  for (const s of streams) {
    if (s.assistantMessageId && !seenAnswers.has(s.assistantMessageId)) count("lost", `answer ${s.assistantMessageId} (${s.phase}, ${s.outcome}) is missing`);
  }
}

// ---------------------------------------------------------------- part 2

const png = async (svg: string) => sharp(Buffer.from(svg)).png().toBuffer();
const COLOUR_WORDS = Object.keys(COLOURS);
const coloursIn = (text: string) => COLOUR_WORDS.filter((c) => new RegExp(`\\b${c}\\b`, "i").test(text)).sort().join(",");

/** Three bursts of 16 concurrent /v1 image questions: a 200 with text, or a 503 with Retry-After in OpenAI's shape. */
async function v1Bursts(client: TestClient): Promise<void> {
  const secret = ((await (await client.fetch("/api/keys", { method: "POST", json: { name: "reliability" } })).json()) as { secret: string }).secret;
  const model = ((await (await fetch(`${server!.url}/v1/models`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { data: { id: string }[] }).data[0]!.id;
  const image = `data:image/png;base64,${(await png(singleShapeSvg("red", "circle"))).toString("base64")}`;
  for (let round = 0; round < 3; round++) {
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const res = await fetch(`${server!.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
          body: JSON.stringify({
            model,
            stream: true,
            max_tokens: 24,
            temperature: 0,
            messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: image } }, { type: "text", text: `${QUESTIONS[i % QUESTIONS.length]} (${round}.${i})` }] }],
          }),
        }).catch(() => null);
        if (!res) return fail("v1: the connection failed");
        if (res.status === 503) {
          counts.refused503++;
          const body = (await res.json()) as { error?: { type?: string } };
          if (!(Number(res.headers.get("retry-after")) > 0) || body.error?.type !== "server_error") fail(`v1: a 503 without Retry-After or OpenAI's error shape: ${JSON.stringify(body)}`);
          return;
        }
        if (res.status !== 200) {
          if (res.status >= 500) counts.http500++;
          return fail(`v1: status ${res.status}: ${(await res.text()).slice(0, 300)}`);
        }
        counts.streams++;
        let text = "";
        let error = "";
        for await (const ev of readSseJson<{ choices?: { delta?: { content?: string } }[]; error?: { message: string } }>(res.body!)) {
          text += ev.choices?.[0]?.delta?.content ?? "";
          if (ev.error) error = ev.error.message;
        }
        if (error || !text.trim()) {
          counts.empty++;
          return fail(`v1: an ${error ? "error" : "empty"} answer: ${error}`);
        }
        counts.completed++;
      }),
    );
  }
}

/**
 * 32 concurrent questions, each about its own one-colour image, 5 rounds,
 * then a follow-up in each conversation of the last round. Each answer is
 * compared with the answer the same question got alone: an answer naming
 * another colour than that one is counted as crossed (another request's
 * image or state leaked into it).
 */
async function crossing(clients: TestClient[]): Promise<void> {
  const QUESTION = "What color is the shape?";
  const FOLLOW_UP = "What shape is it?";
  const cases = await Promise.all(
    Array.from({ length: 32 }, async (_, i) => {
      const colour = COLOUR_WORDS[i % COLOUR_WORDS.length]!;
      const shape = SHAPES[Math.floor(i / COLOUR_WORDS.length) % SHAPES.length]!;
      const client = clients[i % clients.length]!;
      const { status, attachment } = await upload(client, await png(singleShapeSvg(colour, shape)));
      if (status !== 201) throw new Error(`crossing: upload failed (${status})`);
      return { client, colour, image: attachment!.url, alone: "", followUpAlone: "" };
    }),
  );
  // Alone, one at a time: what each question gets with nothing else running.
  /** Why the last `ask` got no answer, for the failure message. */
  const why = new Map<string, string>();
  const ask = async (c: (typeof cases)[number], id: string, text: string, image?: string) => {
    // 32 questions on 4 slots and a queue of 4: most are refused with 503 at first, and wait as told
    // (Retry-After, jittered) until a deadline sized for a loaded machine.
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      const r = await chat(c.client, { id, message: userMessage(text, image ? [image] : []) });
      if (r.status === 503) {
        await sleep(Math.min(5, Number(r.headers.get("retry-after") ?? 1) || 1) * (500 + Math.random() * 500));
        continue;
      }
      if (r.status >= 500) counts.http500++;
      if (r.status !== 200 || r.chunks.at(-1)?.type !== "finish") {
        const last = r.chunks.at(-1) as { type?: string; errorText?: string } | undefined;
        why.set(id, `HTTP ${r.status}, ${r.chunks.length} chunk(s), the last ${last?.type ?? "none"}${last?.errorText ? `: ${last.errorText}` : ""}`);
        return null;
      }
      return r.text;
    }
    why.set(id, "refused with 503 until the 240 s deadline");
    return null;
  };
  for (const c of cases.slice(0, COLOUR_WORDS.length * SHAPES.length)) {
    const id = await newConversation(c.client);
    c.alone = coloursIn((await ask(c, id, QUESTION, c.image)) ?? "");
    c.followUpAlone = (await ask(c, id, FOLLOW_UP)) ?? "";
  }
  // The same images (by colour and shape) answer the same: cases 18+ repeat earlier ones.
  for (const [i, c] of cases.entries()) if (i >= COLOUR_WORDS.length * SHAPES.length) Object.assign(c, { alone: cases[i % (COLOUR_WORDS.length * SHAPES.length)]!.alone, followUpAlone: cases[i % (COLOUR_WORDS.length * SHAPES.length)]!.followUpAlone });
  for (let round = 0; round < 5; round++) {
    await Promise.all(
      cases.map(async (c) => {
        const id = await newConversation(c.client);
        const answer = await ask(c, id, QUESTION, c.image);
        if (answer === null) return fail(`crossing: no answer for the ${c.colour} image (${why.get(id)})`);
        if (coloursIn(answer) !== c.alone) {
          counts.crossed++;
          fail(`crossing: the ${c.colour} image got "${answer}" (alone: colours "${c.alone}")`);
        }
        if (round < 4) return;
        const followUp = await ask(c, id, FOLLOW_UP);
        if (followUp === null) return fail(`crossing: no follow-up answer for the ${c.colour} image (${why.get(id)})`);
        if (coloursIn(followUp) !== coloursIn(c.followUpAlone) || SHAPES.filter((s) => followUp.includes(s)).join() !== SHAPES.filter((s) => c.followUpAlone.includes(s)).join()) {
          counts.crossed++;
          fail(`crossing: the follow-up on the ${c.colour} image got "${followUp}" (alone: "${c.followUpAlone}")`);
        }
      }),
    );
  }
}

/** A 10 000-conversation import while 8 chats stream: how long the event loop waited (p99, ms), and how long the import took. */
async function importUnderLoad(clients: TestClient[], images: string[][]): Promise<void> {
  const now = new Date().toISOString();
  const message = { parentId: null, position: 0, role: "user", parts: [{ type: "text", text: "hello" }], status: "complete", error: null, finishReason: null, model: null, promptTokens: null, reusedTokens: null, completionTokens: null, ttftMs: null, tokensPerSecond: null, createdAt: now };
  const file = JSON.stringify({
    format: "local-vision-chat",
    version: 1,
    exportedAt: now,
    conversations: Array.from({ length: 10_000 }, (_, i) => ({ id: `c${i}`, title: `Imported ${i}`, titleByUser: false, model: null, systemPrompt: null, settings: null, activeLeafId: null, createdAt: now, updatedAt: now, messages: [{ ...message, id: "m" }] })),
    images: [],
  });
  const state = { stop: false };
  const chats = Array.from({ length: 8 }, async (_, w) => {
    const user = w % USERS;
    while (!state.stop) {
      const id = await newConversation(clients[user]!);
      conversationsOf[user]!.add(id);
      const r = await turn("flood", user, clients[user]!, id, images[user]![0]);
      if (r.status === 200) {
        counts.streams++;
        if (r.stream!.outcome === "complete") counts.completed++;
        else fail(`import: a chat beside it ended with ${r.stream!.outcome}`);
      } else if (r.status === 503) await sleep(1000);
      else {
        if (r.status >= 500) counts.http500++;
        fail(`import: a chat beside it got ${r.status}`);
      }
    }
  });
  // The event loop's delay in 10 s windows (/api/health): the largest p99 of the windows that ended while `during` ran.
  const worstWindow = async (during: Promise<unknown>) => {
    let worst = 0;
    let settled = false;
    void during.finally(() => (settled = true));
    let last = -1;
    while (!settled) {
      await sleep(1000);
      const loop = ((await (await fetch(`${server!.url}/api/health`)).json()) as { eventLoop: { current: { p99Ms: number; windowSeconds: number }; previous: { p99Ms: number } | null } }).eventLoop;
      // A new window began: the previous one is complete.
      if (loop.current.windowSeconds < last && loop.previous) worst = Math.max(worst, loop.previous.p99Ms);
      last = loop.current.windowSeconds;
      if (settled) worst = Math.max(worst, loop.current.p99Ms);
    }
    return worst;
  };
  // The same 8 chats with no import first: what the machine gives without it.
  const baseline = await worstWindow(sleep(21_000));
  const importer = new TestClient(server!.url);
  await importer.newAccount();
  const started = Date.now();
  const request = importer.fetch("/api/import", { method: "POST", headers: { "content-type": "application/json" }, body: file });
  figures.loopP99Ms = await worstWindow(request);
  const res = await request;
  figures.import10kS = Math.round((Date.now() - started) / 100) / 10;
  figures.loopP99BaselineMs = baseline;
  state.stop = true;
  await Promise.all(chats);
  if (res.status !== 201) return fail(`import: ${res.status} ${(await res.text()).slice(0, 300)}`);
  // Bounded outright, unless the machine itself is that slow with the chats alone.
  // (Before the fix one import held the loop for its whole length: tens of seconds.)
  if (figures.loopP99Ms > Math.max(LOOP_P99_BOUND_MS, 3 * baseline + 50)) {
    fail(`import: the event loop's p99 delay was ${figures.loopP99Ms} ms (bound ${LOOP_P99_BOUND_MS} ms; ${baseline} ms with the chats alone)`);
  }
}

/** 5 wrong passwords, then 15 at once from 15 other addresses; the owner's right password then takes how long? */
async function signInUnderSpray(): Promise<void> {
  const email = `owner-${Date.now()}@example.com`;
  const password = "the right password, long enough";
  // The owner signs in from the address the account was made from (password hashes take turns, and
  // an address known to the account goes first); an owner on a new address waits for the hashes
  // queued before it, like anyone else, and its time is printed too.
  const owner = new TestClient(server!.url);
  await owner.signUp(email, password);
  for (let i = 0; i < 5; i++) await new TestClient(server!.url, "10.99.0.1").signIn(email, `wrong-${i}`);
  const spray = Array.from({ length: 15 }, (_, i) => new TestClient(server!.url, `10.98.${i}.1`).signIn(email, `spray-${i}`));
  await sleep(100);
  const started = Date.now();
  const elsewhere = new TestClient(server!.url);
  await Promise.all([
    owner.signIn(email, password).then(() => (figures.signinUnderSprayS = Math.round((Date.now() - started) / 100) / 10)),
    elsewhere.signIn(email, password).then(() => (figures.signinNewAddressS = Math.round((Date.now() - started) / 100) / 10)),
  ]);
  await Promise.all(spray);
  if ((await owner.session())?.user?.email !== email) fail("spray: the owner did not get in");
  if ((await elsewhere.session())?.user?.email !== email) fail("spray: the owner on a new address did not get in");
  if (figures.signinUnderSprayS > 5) fail(`spray: the owner's sign-in took ${figures.signinUnderSprayS} s`);
}

// ---------------------------------------------------------------- main

async function main(): Promise<string> {
  say("starting the server");
  server = await startServer({ dataDir, env });
  db = connectDatabase(databaseUrl);
  const clients = Array.from({ length: USERS }, () => new TestClient(server!.url));
  for (const c of clients) await c.newAccount();
  const images = await Promise.all(clients.map((c, i) => makeImages(c, i)));

  // 1. Bad inputs: user 1 pokes at user 2's things.
  const bob = new TestClient(server.url);
  await bob.newAccount();
  const bobsConversation = await newConversation(bob);
  const bobsImage = (await upload(bob, fixture("blue-square.jpg"))).attachment!.url;
  const bad = ENGINE_ONLY ? null : await badInputs(clients[1]!, bob, bobsConversation, bobsImage);
  if (bad) say(`bad inputs: ${bad.passed}/${bad.total}`);

  // 2. A client that disconnects mid-answer.
  await disconnect(clients[0]!, images[0]!);

  // 7–10. Reliability, part 2: /v1 bursts, crossing, an import beside answers, sign-in under a spray.
  await v1Bursts(clients[2]!);
  say(`v1 bursts: ${JSON.stringify(counts)}`);
  // Accounts of their own: checkRows below accounts for every conversation of `clients`.
  const others = Array.from({ length: 6 }, () => new TestClient(server!.url));
  for (const c of others) await c.newAccount();
  await crossing(others);
  say(`crossing: ${counts.crossed} crossed`);
  if (!ENGINE_ONLY) {
    await importUnderLoad(clients, images);
    say(`import: ${figures.import10kS} s, loop p99 ${figures.loopP99Ms} ms`);
    await signInUnderSpray();
    say(`spray: the owner got in in ${figures.signinUnderSprayS} s (${figures.signinNewAddressS} s from a new address)`);
  }

  // 3. The load, then 4. kill -9 mid-stream (on a delta, with several streams open).
  say(`flood: ${WORKERS} clients for ${FLOOD_MS / 1000} s`);
  let killedAt = 0;
  let atKill: { stream: Stream; seen: string }[] = [];
  const state = { stop: false };
  const workers = Array.from({ length: WORKERS }, (_, w) => floodWorker(w, clients, images, state));
  await sleep(FLOOD_MS);
  // The kill lands while the database shows answers being written (checked a
  // few milliseconds before), with several requests in flight.
  const ours = () => conversationsOf.flatMap((set) => [...set]);
  const armedAt = Date.now();
  while (Date.now() - armedAt < 15_000) {
    const writing = await db.message.count({ where: { conversationId: { in: ours() }, status: "streaming" } });
    if (writing >= 2 && open.size >= 3) break;
    await sleep(10);
  }
  killedAt = Date.now();
  server.signal("SIGKILL");
  state.stop = true;
  atKill = [...open].map((o) => ({ stream: o, seen: textOf(o.chunks) }));
  await server.exited;
  await Promise.all(workers);
  say(`flood: ${JSON.stringify(counts)}; killed with ${atKill.length} streams open`);

  // Restart on the same data: the new process sees the dead one's pid gone (or
  // its lease expired) and closes every answer it left (those waiting for a slot included).
  const firstOutput = server.output();
  server = await startServer({ dataDir, env });
  const restartedAt = Date.now();
  say(`restarted ${restartedAt - killedAt} ms after the kill`);
  const again = clients.map((c) => c.copy(server!.url));
  const closeBy = Math.max(killedAt + LEASE_MS, restartedAt) + LEASE_MS / 4 + 5000;
  let left: number;
  while ((left = await db.message.count({ where: { conversationId: { in: ours() }, status: "streaming" } })) && Date.now() < closeBy) await sleep(250);
  let kill9 = atKill.length > 0;
  if (left) kill9 = broken(`kill -9: ${left} answer(s) still streaming ${Date.now() - killedAt} ms after the kill`);
  const closedByKill = await db.message.findMany({ where: { conversationId: { in: ours() }, status: "stopped", error: ORPHANED_ANSWER_ERROR }, select: { id: true } });
  if (!closedByKill.length) kill9 = broken("kill -9: no answer was cut mid-stream");
  for (const { stream, seen } of atKill) {
    if (!stream.assistantMessageId) continue; // no chunk yet: its row, if any, is checked with the others below
    const answer = (await conversation(again[stream.user]!, stream.conversationId))?.find((m) => m.id === stream.assistantMessageId);
    const saved = answer ? answerText(answer) : "";
    // The saved text and what the client read are both prefixes of what was written: the last save may hold
    // a few tokens the client had not read yet when the process died (they were still in a socket buffer),
    // or the client may have read a few written after the last save.
    const samePrefix = seen.startsWith(saved) || saved.startsWith(seen);
    const ok = answer?.status === "stopped" ? answer.error === ORPHANED_ANSWER_ERROR && samePrefix : answer?.status === "complete" && saved.startsWith(seen);
    if (!ok) kill9 = broken(`kill -9: answer ${stream.assistantMessageId} is ${answer?.status} (${answer?.error}) "${saved}", the client saw "${seen}"`);
  }
  say(`kill -9: ${atKill.length} request(s) in flight; ${closedByKill.length} answer(s) closed as stopped, all by ${Date.now() - killedAt} ms after the kill`);

  // 5. Every row, through the API as each user.
  await checkRows(again);
  if (failures.some((f) => f.startsWith("completed answer") || f.includes("is missing"))) kill9 = false;

  // 6. SIGTERM mid-stream: one new image conversation per user, the signal on a delta with four streams open.
  const instanceId = /\[instance\] (\S+) holds a lease/.exec(server.output())?.[1];
  let signalledAt = 0;
  let atSignal: Stream[] = [];
  const onChunk = (s: Stream, c: Chunk) => {
    if (signalledAt || c.type !== "text-delta" || open.size < 4) return;
    signalledAt = Date.now();
    server!.signal("SIGTERM");
    atSignal = [...open];
  };
  await Promise.all(
    again.map(async (client, user) => {
      const id = await newConversation(client);
      conversationsOf[user]!.add(id);
      await turn("sigterm", user, client, id, images[user]![0], onChunk);
    }),
  );
  let sigterm = signalledAt > 0 && atSignal.length >= 4;
  if (!signalledAt) {
    fail("SIGTERM: never four streams open at once");
    server.signal("SIGTERM");
    signalledAt = Date.now();
  }
  const code = await server.exited;
  const exitMs = Date.now() - signalledAt;
  if (code !== 0 || exitMs > SHUTDOWN_TIMEOUT_MS) sigterm = broken(`SIGTERM: exited ${code} after ${exitMs} ms`);
  for (const s of atSignal) {
    if (s.outcome === "refused") continue; // answered 503 at the door: the server was already closing
    const last = s.chunks.at(-1);
    if (!(last?.type === "finish" || (last?.type === "error" && /shutting down/.test(last.errorText ?? "")))) {
      sigterm = false;
      fail(`SIGTERM: a stream ended with ${JSON.stringify(last)}`);
    }
  }
  say(`SIGTERM: exit ${code} in ${exitMs} ms; ${atSignal.length} streams open at the signal`);
  if (verbose) {
    fs.writeFileSync(path.join(os.tmpdir(), "lvc-reliability-server-1.log"), firstOutput);
    fs.writeFileSync(path.join(os.tmpdir(), "lvc-reliability-server-2.log"), server.output());
  }

  // Straight from the database, with the server gone: the answers of the shutdown, the lease, no row left streaming.
  {
    for (const s of atSignal) {
      if (!s.assistantMessageId) continue; // never started: no answer row of its own (none is left streaming, below)
      const row = await db.message.findUnique({ where: { id: s.assistantMessageId } });
      const saved = row ? (row.parts as { text?: string }[]).map((p) => p.text ?? "").join("") : "";
      const seen = textOf(s.chunks);
      const ok = row && (row.status === "complete" ? s.outcome === "complete" && saved === seen : row.status === "stopped" && /shutting down/.test(row.error ?? "") && saved.startsWith(seen));
      if (!ok) sigterm = broken(`SIGTERM: answer ${s.assistantMessageId} saved as ${row?.status} (${row?.error}) "${saved}", the client saw "${seen}"`);
    }
    if (!instanceId || (await db.appInstance.findUnique({ where: { id: instanceId } }))) sigterm = broken("SIGTERM: the instance's lease was not removed");
    const streaming = await db.message.count({ where: { conversationId: { in: ours() }, status: "streaming" } });
    if (streaming) count("lost", `${streaming} answer(s) left streaming`);
    // Every row of every conversation belongs to the user the conversation was made for.
    const rows = await db.conversation.findMany({ where: { id: { in: ours() } }, select: { id: true, userId: true } });
    const owner = new Map(rows.map((r) => [r.id, r.userId]));
    for (const [user, set] of conversationsOf.entries()) {
      const owners = new Set([...set].map((id) => owner.get(id)));
      if (owners.size !== 1) count("misrouted", `user ${user}'s conversations have ${owners.size} owners in the database`);
    }
  }
  return [
    `RELIABILITY engine=${ENGINE} streams=${counts.streams} completed=${counts.completed} refused_503=${counts.refused503}`,
    `http_500=${counts.http500} empty=${counts.empty} crossed=${counts.crossed} lost=${counts.lost} misrouted=${counts.misrouted}`,
    ENGINE_ONLY
      ? "loop_p99_ms=skipped import_10k_s=skipped signin_under_spray_s=skipped"
      : `loop_p99_ms=${figures.loopP99Ms} loop_p99_ms_without_import=${figures.loopP99BaselineMs} import_10k_s=${figures.import10kS} signin_under_spray_s=${figures.signinUnderSprayS} signin_new_address_s=${figures.signinNewAddressS}`,
    `kill9_recovered=${kill9 ? "yes" : "no"} sigterm_clean=${sigterm ? "yes" : "no"} bad_inputs=${bad ? `${bad.passed}/${bad.total}` : "skipped"}`,
  ].join(" ");
}

const watchdog = setTimeout(() => {
  fail("the run took longer than 16 minutes");
  finish("RELIABILITY aborted");
}, 16 * 60_000);

function finish(line: string) {
  clearTimeout(watchdog);
  if (server && server.signal) {
    try {
      server.signal("SIGKILL");
    } catch {
      /* already gone */
    }
  }
  void db?.$disconnect();
  fs.rmSync(dataDir, { recursive: true, force: true });
  console.log(line);
  if (failures.length || counts.completed === 0) {
    console.error(`reliability: ${failures.length} failure(s):\n  ${failures.slice(0, 40).join("\n  ")}`);
    if (server) console.error(`--- server output (end) ---\n${server.output().slice(-4000)}`);
    process.exit(1);
  }
  say(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.exit(0);
}

main().then(finish, (err: Error) => {
  fail(`the run stopped: ${err.stack ?? err.message}`);
  finish("RELIABILITY aborted");
});
