import http from "node:http";

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Body bytes written before the response arrived (or the server closed the connection). */
  bytesSent: number;
  /** Milliseconds from the start of the request to its response head. */
  ms: number;
}

/**
 * One HTTP request through node:http, for what `fetch` will not send: a
 * forged `Host`, a declared `Content-Length` with no body behind it, or a
 * chunked body of `streamBytes` made up as it is sent. Stops sending as soon
 * as the response arrives.
 */
export function rawRequest(
  url: string,
  { method = "POST", headers = {}, body, streamBytes = 0 }: { method?: string; headers?: Record<string, string>; body?: string | Buffer; streamBytes?: number },
): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    let bytesSent = 0;
    let answered = false;
    const req = http.request(url, { method, headers }, (res) => {
      answered = true;
      const ms = Date.now() - started;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), bytesSent, ms });
        req.destroy(); // the rest of a body the server refused is never sent
      });
      res.on("error", reject);
    });
    req.on("error", (err) => {
      if (!answered) reject(err);
    });
    if (body !== undefined) {
      bytesSent = Buffer.byteLength(body);
      req.end(body);
      return;
    }
    if (!streamBytes) {
      // A declared length with no body: only a server that answers from the headers replies.
      req.flushHeaders();
      return;
    }
    const chunk = Buffer.alloc(256 * 1024, "a");
    const pump = () => {
      while (!answered && !req.destroyed && bytesSent < streamBytes) {
        bytesSent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!answered && !req.destroyed) req.end();
    };
    pump();
  });
}
