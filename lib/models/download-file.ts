import { createHash } from "node:crypto";
import fs from "node:fs";
import { downloadFile as ipullDownload, StatusCodeError } from "ipull";
import { PullError } from "./pull-error";

export interface FileProgress {
  /** Bytes of this file on disk so far (a resumed file starts above 0). */
  bytes: number;
  total: number;
}

/** SHA-256 of a file, hex. */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20, signal })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

const rm = (file: string) => fs.rmSync(file, { force: true });

/**
 * Downloads `url` to `dest` and checks its SHA-256. ipull (the downloader
 * node-llama-cpp's createModelDownloader wraps) does the transfer: Range
 * requests in chunks, retries that continue from the last whole chunk when
 * the connection drops, and `<dest>.ipull` holding the bytes and their
 * progress until the end, so an interrupted pull resumes where it stopped
 * and `dest` only ever names a whole file. What this adds:
 *
 * - `<dest>.oid` remembers which version the partial file belongs to: when
 *   the hub's SHA-256 has changed since, the partial is dropped rather than
 *   completed with another file's bytes (what an `If-Range` would do);
 * - the SHA-256 check: a file that does not match is deleted, not kept.
 */
export async function downloadVerified({
  url,
  dest,
  size,
  sha256,
  headers,
  signal,
  onProgress,
  chunkBytes = 4 << 20,
  parallelStreams = 2,
}: {
  url: string;
  dest: string;
  /** Expected size in bytes (from the listing). */
  size: number;
  /** Expected SHA-256, or null to skip the check (a file outside LFS). */
  sha256: string | null;
  headers: Record<string, string>;
  signal?: AbortSignal;
  onProgress?: (p: FileProgress) => void;
  /** Resume granularity: a dropped connection repeats at most this much. Default 4 MiB. */
  chunkBytes?: number;
  /**
   * Connections per file. Default 2, the fewest that resume correctly: with 1,
   * ipull 3.9.5 restarts a resumed file at chunk 0 and stops after that
   * chunk, leaving the rest zero (our SHA-256 check caught it).
   */
  parallelStreams?: number;
}): Promise<{ verified: boolean }> {
  const partial = `${dest}.ipull`;
  const oidFile = `${dest}.oid`;
  const recorded = fs.existsSync(oidFile) ? fs.readFileSync(oidFile, "utf8").trim() : null;
  if (recorded !== (sha256 ?? "")) {
    rm(partial);
    rm(dest);
  }
  fs.writeFileSync(oidFile, sha256 ?? "");

  if (signal?.aborted) throw new PullError("cancelled", "Cancelled.");
  const downloader = await ipullDownload({
    url,
    savePath: dest,
    headers,
    chunkSize: chunkBytes,
    parallelStreams,
    skipExisting: true,
    // The listing gave the size: no probing request (ipull's probe is a GET whose body it never reads).
    defaultFetchDownloadInfo: { length: size, acceptRange: true },
    retry: { retries: 8, factor: 2, minTimeout: 300, maxTimeout: 10_000 },
  }).catch((err: unknown) => {
    throw toPullError(err, url);
  });
  const onAbort = () => void downloader.close();
  signal?.addEventListener("abort", onAbort);
  downloader.on("progress", (s) => onProgress?.({ bytes: s.transferredBytes, total: s.totalBytes || size }));
  try {
    await downloader.download();
    await downloader.close();
  } catch (err) {
    if (signal?.aborted) throw cancelled(dest, size);
    throw toPullError(err, url);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (signal?.aborted) throw cancelled(dest, size);
  if (!fs.existsSync(dest)) throw new PullError("download", `The download of ${url} stopped before the end. Pull again to resume it.`);

  let got = fs.statSync(dest).size;
  if (got > size) {
    // ipull saves its progress record after the file's bytes without waiting, and a late save can
    // land after its final truncation: the bytes before `size` are the file (the SHA-256 says so).
    fs.truncateSync(dest, size);
    got = size;
  }
  if (got !== size) {
    rm(dest);
    throw new PullError("checksum", `${url} has ${got} bytes, but the hub lists ${size}: the file was deleted. Pull again.`);
  }
  if (sha256) {
    const actual = await sha256File(dest, signal);
    if (actual !== sha256) {
      rm(dest);
      rm(oidFile);
      throw new PullError("checksum", `${url.split("/").pop()} does not match the hub's SHA-256 (expected ${sha256.slice(0, 12)}…, got ${actual.slice(0, 12)}…): it was deleted and nothing was installed. Pull again; if it fails again, the mirror serves a different file.`);
    }
  }
  return { verified: sha256 !== null };
}

/**
 * ipull 3.9.5 sometimes renames a cancelled partial file (its bytes plus the
 * progress record after them) to the final name; it then neither resumes
 * nor is whole. Put it back where a resume finds it.
 */
function cancelled(dest: string, size: number): PullError {
  try {
    if (fs.existsSync(dest) && !fs.existsSync(`${dest}.ipull`) && fs.statSync(dest).size !== size) fs.renameSync(dest, `${dest}.ipull`);
  } catch {
    // A resume then starts this file again: slower, never wrong (the SHA-256 check).
  }
  return new PullError("cancelled", "Cancelled.");
}

function toPullError(err: unknown, url: string): PullError {
  if (err instanceof PullError) return err;
  if (err instanceof StatusCodeError) {
    return new PullError(err.statusCode === 401 || err.statusCode === 403 ? "gated" : err.statusCode === 404 ? "not_found" : "download", `HTTP ${err.statusCode} for ${url}.`);
  }
  return new PullError("download", `The download of ${url} failed (${(err as Error).message}). Pull again to resume it.`);
}
