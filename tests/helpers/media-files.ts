import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { strToU8, zipSync } from "fflate";
import sharp from "sharp";
import { COLOURS, singleShapeSvg, type Shape } from "./shape-scenes";
import { pcmWav } from "../../lib/engine/audio-input";

// Media files made at test time: tables as text, PDFs written by hand,
// video and audio encoded with the ffmpeg the app ships (@ffmpeg-installer/linux-x64).

export const FFMPEG = path.resolve(import.meta.dirname, "..", "..", "node_modules", "@ffmpeg-installer", "linux-x64", "ffmpeg");

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "lvc-media-"));
}

function ffmpeg(args: string[]): void {
  execFileSync(FFMPEG, ["-hide_banner", "-loglevel", "error", "-nostdin", "-y", ...args], { stdio: ["ignore", "ignore", "pipe"] });
}

/** A CSV of sales per city and month. */
export function salesCsv(rows = 12): Buffer {
  const cities = ["Oslo", "Lima", "Pune", "Kyiv"];
  const lines = ["city,month,sales"];
  for (let i = 0; i < rows; i++) lines.push(`${cities[i % 4]},2026-${String((i % 12) + 1).padStart(2, "0")}-01,${100 + i * 7}`);
  return Buffer.from(lines.join("\n") + "\n");
}

/**
 * A PDF with one page per text, each page also holding a filled square of
 * that page's colour (so the pages' images differ), with a correct xref.
 */
export function textPdf(pages: { text: string; rgb?: [number, number, number]; shape?: "square" | "circle" }[], { encrypt = false }: { encrypt?: boolean } = {}): Buffer {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body) - 1 + 1;
  const catalog = add("<< /Type /Catalog /Pages 2 0 R >>");
  void catalog;
  add("PLACEHOLDER");
  const font = add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  const kids: number[] = [];
  for (const p of pages) {
    const [r, g, b] = p.rgb ?? [0.85, 0.1, 0.1];
    const stream = `${r} ${g} ${b} rg ${p.shape === "circle" ? circlePath(306, 380, 200) : "106 180 400 400 re f"} BT /F1 24 Tf 72 700 Td (${p.text.replace(/[()\\]/g, "\\$&")}) Tj ET`;
    const content = add(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
    kids.push(add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${content} 0 R /Resources << /Font << /F1 ${font} 0 R >> >> >>`));
  }
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(" ")}] /Count ${kids.length} >>`;
  let out = "%PDF-1.4\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  // An /Encrypt entry (standard security handler, RC4 40-bit) makes pdf.js ask for a password it cannot guess.
  const encryptObj = encrypt ? objects.length + 1 : 0;
  if (encrypt) {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${encryptObj} 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <${"a".repeat(64)}> /U <${"b".repeat(64)}> /P -4 >>\nendobj\n`;
  }
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${offsets.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  out += `trailer\n<< /Size ${offsets.length + 1} /Root 1 0 R${encrypt ? ` /Encrypt ${encryptObj} 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]` : ""} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}

/** A filled circle as a PDF path (four Bézier quarters). */
function circlePath(cx: number, cy: number, r: number): string {
  const k = 0.5523 * r;
  return `${cx + r} ${cy} m ${cx + r} ${cy + k} ${cx + k} ${cy + r} ${cx} ${cy + r} c ${cx - k} ${cy + r} ${cx - r} ${cy + k} ${cx - r} ${cy} c ${cx - r} ${cy - k} ${cx - k} ${cy - r} ${cx} ${cy - r} c ${cx + k} ${cy - r} ${cx + r} ${cy - k} ${cx + r} ${cy} c f`;
}

/**
 * A video of shape scenes, `secondsEach` seconds per scene at 4 fps
 * (`mp4` H.264, `webm` VP8), encoded by the shipped ffmpeg.
 */
export async function shapeVideo(
  scenes: { colour: keyof typeof COLOURS; shape: Shape }[],
  { secondsEach = 1, format = "mp4", size = 224 }: { secondsEach?: number; format?: "mp4" | "webm" | "mov"; size?: number } = {},
): Promise<Buffer> {
  const dir = tmpDir();
  try {
    let n = 0;
    for (const s of scenes) {
      const png = await sharp(Buffer.from(singleShapeSvg(s.colour, s.shape, size))).flatten({ background: "#ffffff" }).png().toBuffer();
      for (let i = 0; i < secondsEach * 4; i++) fs.writeFileSync(path.join(dir, `f${String(n++).padStart(4, "0")}.png`), png);
    }
    const out = path.join(dir, `out.${format}`);
    // High quality, so the frames look like the drawn scenes (the image library's CLIP floor is strict).
    const codec = format === "webm" ? ["-c:v", "libvpx", "-b:v", "1M", "-pix_fmt", "yuv420p", "-auto-alt-ref", "0"] : ["-c:v", "libx264", "-crf", "8", "-pix_fmt", "yuv420p"];
    ffmpeg(["-framerate", "4", "-i", path.join(dir, "f%04d.png"), ...codec, out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A long, cheap video (one colour, 1 fps, tiny frames): for the duration cap and the benchmark. */
export function longVideo(seconds: number, { size = 64 }: { size?: number } = {}): Buffer {
  const dir = tmpDir();
  try {
    const out = path.join(dir, "long.mp4");
    ffmpeg(["-f", "lavfi", "-i", `testsrc=size=${size}x${size}:rate=1:duration=${seconds}`, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "30", out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An audio-only MP4 (AAC), which must be refused as a video. */
export function audioOnlyMp4(seconds = 1): Buffer {
  const dir = tmpDir();
  try {
    const out = path.join(dir, "a.mp4");
    ffmpeg(["-f", "lavfi", "-i", `sine=frequency=440:duration=${seconds}`, "-c:a", "aac", "-f", "mp4", out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** 16-bit mono PCM WAV of these samples (synthesized here, no encoder involved). */
export function wav(samples: Float32Array, sampleRate = 16_000): Buffer {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  return pcmWav(data, sampleRate);
}

/** A rising tone (a chirp from `from` to `to` Hz) of this many seconds. */
export function chirp(seconds: number, from = 300, to = 3000, sampleRate = 16_000): Float32Array {
  const n = Math.round(seconds * sampleRate);
  const out = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (2 * Math.PI * (from + ((to - from) * i) / n)) / sampleRate;
    out[i] = 0.5 * Math.sin(phase);
  }
  return out;
}

/** The same audio encoded by the shipped ffmpeg (mp3, ogg/opus, flac, m4a). */
export function encodeAudio(wavBytes: Buffer, format: "mp3" | "ogg" | "flac" | "m4a"): Buffer {
  const dir = tmpDir();
  try {
    fs.writeFileSync(path.join(dir, "in.wav"), wavBytes);
    const out = path.join(dir, `out.${format}`);
    const codec = { mp3: ["-c:a", "libmp3lame"], ogg: ["-c:a", "libopus"], flac: ["-c:a", "flac"], m4a: ["-c:a", "aac"] }[format];
    ffmpeg(["-i", path.join(dir, "in.wav"), ...codec, out]);
    return fs.readFileSync(out);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A minimal XLSX workbook (one sheet, inline strings and numbers), zipped with fflate. */
export function xlsx(rows: (string | number)[][], { extra }: { extra?: Record<string, Uint8Array> } = {}): Buffer {
  const col = (i: number) => String.fromCharCode(65 + i);
  const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  const sheet = `<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${rows
    .map(
      (r, y) =>
        `<row r="${y + 1}">${r.map((v, x) => (typeof v === "number" ? `<c r="${col(x)}${y + 1}"><v>${v}</v></c>` : `<c r="${col(x)}${y + 1}" t="inlineStr"><is><t>${esc(v)}</t></is></c>`)).join("")}</row>`,
    )
    .join("")}</sheetData></worksheet>`;
  const files: Record<string, Uint8Array> = {
    "[Content_Types].xml": strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
    ),
    "_rels/.rels": strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    ),
    "xl/workbook.xml": strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    ),
    "xl/_rels/workbook.xml.rels": strToU8(
      '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    ),
    "xl/worksheets/sheet1.xml": strToU8(sheet),
    ...extra,
  };
  return Buffer.from(zipSync(files, { level: 6 }));
}

/** A workbook carrying an entry that inflates to `mib` MiB of zeros (a decompression bomb). */
export const xlsxBomb = (mib: number) => xlsx([["a"], [1]], { extra: { "xl/media/padding.bin": new Uint8Array(mib * 1024 * 1024) } });

/** Whether Debian's espeak-ng (apt install espeak-ng; .ci/run installs it) is here to speak test audio. */
export const HAS_ESPEAK = (() => {
  try {
    execFileSync("espeak-ng", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** `text` spoken by espeak-ng as a WAV (22 050 Hz mono; the app resamples it), in one of its voices. */
export function spoken(text: string, voice = "en-us"): Buffer {
  if (!HAS_ESPEAK) throw new Error("Speaking test audio needs espeak-ng (apt install espeak-ng).");
  return execFileSync("espeak-ng", ["-v", voice, "-s", "150", "--stdout", text], { maxBuffer: 64 * 1024 * 1024 });
}

/** Word-level edit distance between two transcripts (insertions, deletions, substitutions). */
export function wordErrors(got: string, want: string): number {
  const a = got.split(/\s+/).filter(Boolean);
  const b = want.split(/\s+/).filter(Boolean);
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}
