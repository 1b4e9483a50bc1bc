// The decoding process: one media file per process, started by decode-media.ts
// with a time and memory cap. Reads one DecodeJob (JSON) on stdin, writes the
// derived images into job.outDir and one DecodeResult (JSON) on stdout, after
// `{"progress":0.4}` lines saying how far it has come (at most one per percent).
// A hostile file can crash or stall this process, never the web server.
import { readAudio } from "./audio";
import { readData } from "./data";
import { readPdf } from "./pdf";
import { MediaRefusal, type DecodeJob, type DecodeResult } from "./types";
import { readVideo } from "./video";

const readers = { video: readVideo, audio: readAudio, pdf: readPdf, data: readData };

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const job = JSON.parse(Buffer.concat(chunks).toString("utf8")) as DecodeJob;
  let shown = -1;
  const report = (fraction: number) => {
    const percent = Math.floor(Math.min(1, Math.max(0, fraction)) * 100);
    if (percent <= shown) return;
    shown = percent;
    process.stdout.write(`{"progress":${percent / 100}}\n`);
  };
  let result: DecodeResult;
  try {
    result = { ok: true, ...(await readers[job.kind](job, report)) };
  } catch (err) {
    result =
      err instanceof MediaRefusal
        ? { ok: false, code: err.code, message: err.message }
        : { ok: false, code: "bad_request:upload", message: `The file could not be read (${(err as Error).message.slice(0, 200)}).` };
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
