// The production HTTP server: Next's request handler behind a plain Node
// server, so the client address that rate limits see is the socket's own
// (a forged X-Forwarded-For is overwritten unless TRUST_PROXY=true).
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

const server = http.createServer((req, res) => {
  if (!trustProxy || !req.headers["x-forwarded-for"]) {
    req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
  }
  handle(req, res);
});

server.listen(port, hostname, () => {
  const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
  console.log(`Ready on http://${shown}:${port}`);
});

let closing = false;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (closing) process.exit(1);
    closing = true;
    server.close(() => process.exit(0));
    // Streaming answers keep sockets open; do not wait for them forever.
    setTimeout(() => process.exit(0), 3000).unref();
    server.closeIdleConnections?.();
  });
}
