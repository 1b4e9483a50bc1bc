// The production HTTP server: Next's request handler behind a plain Node
// server, so the client address that rate limits see is the socket's own
// (a forged X-Forwarded-For is overwritten, and the other forwarded headers
// dropped, unless TRUST_PROXY=true).
// Started by scripts/start.ts after setup; configuration comes from the env.
import "./app-output.mjs";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const hostname = process.env.HOST || "127.0.0.1";
const port = Number(process.env.PORT || 3000);
const trustProxy = process.env.TRUST_PROXY === "true" || process.env.TRUST_PROXY === "1";

const app = next({ dev: false, dir, hostname, port });
const handle = app.getRequestHandler();
await app.prepare();

/** What a reverse proxy reports about the original request; forgeable when no proxy is there. */
const FORWARDED = ["forwarded", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-port", "x-forwarded-prefix"];
/** How long a graceful stop may take before the process exits anyway (SHUTDOWN_TIMEOUT_MS, milliseconds). */
const shutdownMs = Number(process.env.SHUTDOWN_TIMEOUT_MS || 10_000);
/** When the first stop signal came; 0 while serving. */
let closingSince = 0;

const server = http.createServer((req, res) => {
  // A keep-alive connection can still bring a request after close(): refuse it.
  if (closingSince) {
    res.writeHead(503, { "content-type": "application/json", "retry-after": "10", connection: "close" });
    res.end(JSON.stringify({ error: { code: "unavailable:server", message: "The server is shutting down. Try again in a moment." } }));
    return;
  }
  if (!trustProxy || !req.headers["x-forwarded-for"]) {
    req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
  }
  if (!trustProxy) for (const name of FORWARDED) delete req.headers[name];
  handle(req, res);
});

server.listen(port, hostname, () => {
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  console.log(`Ready on http://${shown}:${port}`);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Graceful stop: no new connections or requests; the app stops the answers
 * being written (saved as `stopped`, each client told why), removes this
 * instance's lease and unloads the model (lib/shutdown.ts, registered by
 * instrumentation.ts); the streams then end and the process exits 0. Past the deadline it exits 1 regardless.
 */
async function stop(signal) {
  console.log(`[server] ${signal}: shutting down (at most ${shutdownMs} ms)`);
  const forced = setTimeout(() => {
    console.error(`[server] shutdown took longer than ${shutdownMs} ms; exiting anyway`);
    process.exit(1);
  }, shutdownMs);
  const closed = new Promise((resolve) => server.close(resolve));
  // Connections between requests would hold close() open; ones mid-response finish first.
  const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
  try {
    await globalThis.__appShutdown?.({ timeoutMs: Math.max(0, shutdownMs - 2000) });
  } catch (err) {
    console.error("[server] shutdown step failed:", err);
  }
  // The stopped answers' streams end with their error part: give them a moment to flush.
  await Promise.race([closed, sleep(1000)]);
  clearInterval(idleSweep);
  server.closeAllConnections();
  clearTimeout(forced);
  process.exit(0);
}

// scripts/start.ts relays the first signal it gets as SIGUSR2: a graceful stop, or nothing if one is under way.
process.on("SIGUSR2", () => {
  if (closingSince) return;
  closingSince = Date.now();
  void stop("SIGTERM");
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (!closingSince) {
      closingSince = Date.now();
      void stop(signal);
    } else if (Date.now() - closingSince > 1000) {
      // A second signal a while later (Ctrl-C again) means "now". Copies of
      // the first that arrive at once (a signal to the whole process group,
      // also forwarded by npm start) are not.
      process.exit(1);
    }
  });
}
