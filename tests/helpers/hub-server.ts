import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** One file of a test repository. */
export interface HubTestFile {
  path: string;
  data: Buffer;
}

export interface HubTestRepo {
  files: HubTestFile[];
  /** When set, the repository is gated: only `Authorization: Bearer <token>` may list or download it. */
  token?: string;
}

export interface HubRequest {
  method: string;
  url: string;
  range: string | null;
  authorization: string | null;
  status: number;
  /** Body bytes written before the response ended or was cut. */
  bytesSent: number;
}

export interface HubTestServer {
  /** Base URL, for HF_ENDPOINT. */
  url: string;
  requests: HubRequest[];
  /** The next ranged GET of `file` (a repository path) sends this many body bytes, then drops the connection. */
  dropOnce: (repo: string, file: string, afterBytes: number) => void;
  /** Serve `file` with one byte changed while the listing keeps the true SHA-256. */
  corrupt: (repo: string, file: string) => void;
  /** Limit every file body to about this many bytes per second (0: no limit). */
  throttle: (bytesPerSecond: number) => void;
  close: () => Promise<void>;
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const gitOid = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

/**
 * A local server that speaks the part of the Hugging Face hub's API a pull
 * uses, on 127.0.0.1:
 *
 * - `GET /api/models/<owner>/<repo>/tree/main[?recursive=true]`: files with
 *   `size`, `oid`, and for `.gguf` files `lfs: {oid: <sha256>, size}`, as the
 *   hub lists LFS files;
 * - `HEAD|GET /<owner>/<repo>/resolve/main/<path>`: the bytes, with
 *   `Accept-Ranges`, `ETag` (the SHA-256 for LFS files, as the hub's
 *   `X-Linked-Etag`), single `Range: bytes=a-b` requests answered 206, and
 *   `If-Range` honoured;
 * - 401 with the hub's JSON error for a gated repository without its token,
 *   404 for anything else.
 */
export async function startHubServer(repos: Record<string, HubTestRepo>): Promise<HubTestServer> {
  const requests: HubRequest[] = [];
  const drops = new Map<string, number>();
  const corrupted = new Set<string>();
  let bytesPerSecond = 0;

  const server = http.createServer(async (req, res) => {
    const entry: HubRequest = { method: req.method ?? "GET", url: req.url ?? "/", range: req.headers.range ?? null, authorization: req.headers.authorization ?? null, status: 0, bytesSent: 0 };
    requests.push(entry);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      res.writeHead(status, { "content-type": "application/json", ...headers });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? "/", "http://hub");
    const tree = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/main\/?$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
    const repoName = decodeURIComponent((tree ?? resolve)?.[1] ?? "");
    const repo = repos[repoName];
    if (!repo) return send(404, { error: "Repository not found" });
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) {
      return send(401, { error: "Access to model " + repoName + " is restricted. You must have access to it and be authenticated to access it. Please log in." }, { "x-error-code": "GatedRepo" });
    }
    if (tree) {
      const dirs = new Set<string>();
      for (const f of repo.files) f.path.split("/").slice(0, -1).forEach((_, i, parts) => dirs.add(parts.slice(0, i + 1).join("/")));
      return send(200, [
        ...[...dirs].map((d) => ({ type: "directory", oid: gitOid(Buffer.from(d)), size: 0, path: d })),
        ...repo.files.map((f) =>
          f.path.endsWith(".gguf")
            ? { type: "file", oid: gitOid(Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.data)}\nsize ${f.data.length}\n`)), size: f.data.length, path: f.path, lfs: { oid: sha256(f.data), size: f.data.length, pointerSize: 134 } }
            : { type: "file", oid: gitOid(f.data), size: f.data.length, path: f.path },
        ),
      ]);
    }
    const filePath = decodeURIComponent(resolve![2]!);
    const file = repo.files.find((f) => f.path === filePath);
    if (!file) return send(404, { error: "Entry not found" }, { "x-error-code": "EntryNotFound" });
    const key = `${repoName}/${filePath}`;
    let data = file.data;
    if (corrupted.has(key)) {
      data = Buffer.from(data);
      data[data.length >> 1] ^= 0xff;
    }
    const etag = `"${file.path.endsWith(".gguf") ? sha256(file.data) : gitOid(file.data)}"`;
    let start = 0;
    let end = data.length - 1;
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? "");
    const ifRange = req.headers["if-range"];
    const partial = !!range && (!ifRange || ifRange === etag);
    if (partial) {
      start = range![1] ? Number(range![1]) : data.length - Number(range![2]);
      end = range![1] && range![2] ? Math.min(Number(range![2]), data.length - 1) : data.length - 1;
      if (start > end || start >= data.length) {
        entry.status = 416;
        res.writeHead(416, { "content-range": `bytes */${data.length}` });
        return res.end();
      }
    }
    entry.status = partial ? 206 : 200;
    res.writeHead(entry.status, {
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      "accept-ranges": "bytes",
      etag,
      "x-linked-etag": etag,
      "x-linked-size": String(data.length),
      ...(partial ? { "content-range": `bytes ${start}-${end}/${data.length}` } : {}),
    });
    if (req.method === "HEAD") return res.end();
    const dropAt = req.headers.range ? drops.get(key) : undefined;
    if (dropAt !== undefined) drops.delete(key);
    const body = data.subarray(start, end + 1);
    const piece = 64 * 1024;
    for (let at = 0; at < body.length; at += piece) {
      if (dropAt !== undefined && entry.bytesSent + piece > dropAt) {
        res.write(body.subarray(at, at + Math.max(0, dropAt - entry.bytesSent)));
        entry.bytesSent = dropAt;
        await new Promise((r) => setTimeout(r, 20));
        req.socket.destroy();
        return;
      }
      const chunk = body.subarray(at, at + piece);
      if (!res.write(chunk)) await new Promise((r) => res.once("drain", r));
      entry.bytesSent += chunk.length;
      if (bytesPerSecond > 0) await new Promise((r) => setTimeout(r, (chunk.length * 1000) / bytesPerSecond));
      if (res.destroyed) return;
    }
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    dropOnce: (repo, file, afterBytes) => drops.set(`${repo}/${file}`, afterBytes),
    corrupt: (repo, file) => corrupted.add(`${repo}/${file}`),
    throttle: (bps) => (bytesPerSecond = bps),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
