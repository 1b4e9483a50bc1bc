import fs from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import { probe, runFfmpeg } from "./ffmpeg";
import { formatTime, MediaRefusal, type DecodeJob, type DerivedImage, type MediaInfo, type ReportProgress } from "./types";

/** Longest side of a sampled frame (the app fits it again for the model). */
const FRAME_SIDE = 768;
/** A scene change is a frame this different from the one before (ffmpeg's `scene` score, 0–1). */
const SCENE_THRESHOLD = 0.3;

/**
 * Video → frames: uniform sampling plus scene changes, at most
 * `limits.maxFrames`, each labelled with its time. Refused from the header
 * before anything is decoded: no video stream, too long, too many pixels.
 * Animated GIF and WebP are read by sharp (ffmpeg 4.1 cannot decode animated
 * WebP), their frame delays giving the times.
 */
export async function readVideo(job: DecodeJob, report: ReportProgress = () => {}): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  if (job.format === "gif" || job.format === "webp") return readAnimation(job, report);
  const p = await probe(job.ffmpeg, job.input);
  if (!p.video) throw new MediaRefusal("bad_request:upload", "The file has no video stream.");
  const { width, height } = p.video;
  if (width * height > job.limits.maxPixels) {
    throw new MediaRefusal("payload_too_large:upload", `The video's frames are ${width}×${height}; the limit is ${mp(job.limits.maxPixels)} megapixels per frame.`);
  }
  if (p.durationSeconds !== null && p.durationSeconds > job.limits.maxSeconds) {
    throw new MediaRefusal("payload_too_large:upload", `The video is ${formatTime(p.durationSeconds)} long; the limit is ${formatTime(job.limits.maxSeconds)}.`);
  }
  // Progress: the scene pass (one decode of a small copy) is the first half, the frames extracted of those planned the second.
  const { scenes, lastTime } = await sceneChanges(job, (t) => p.durationSeconds && report((0.5 * t) / p.durationSeconds));
  report(0.5);
  const duration = p.durationSeconds ?? lastTime;
  if (duration > job.limits.maxSeconds) {
    throw new MediaRefusal("payload_too_large:upload", `The video is ${formatTime(duration)} long; the limit is ${formatTime(job.limits.maxSeconds)}.`);
  }
  const times = pickFrameTimes({ duration, scenes, max: job.limits.maxFrames });
  const images: DerivedImage[] = [];
  for (const [i, t] of times.entries()) {
    const file = `frame-${i + 1}.png`;
    await runFfmpeg(job.ffmpeg, ["-ss", t.toFixed(3), "-i", job.input, "-an", "-frames:v", "1", "-vf", `scale='min(${FRAME_SIDE},iw)':-2`, "-y", path.join(job.outDir, file)]);
    const ok = await fs.stat(path.join(job.outDir, file)).then((s) => s.size > 0, () => false);
    if (ok) images.push({ file, label: `Frame ${images.length + 1}, ${formatTime(t)}`, time: t });
    report(0.5 + (0.5 * (i + 1)) / times.length);
  }
  if (!images.length) throw new MediaRefusal("bad_request:upload", "No frame of the video could be decoded: the file is damaged.");
  return { info: { kind: "video", format: job.format, durationSeconds: duration, width, height, frameCount: images.length }, images };
}

/** Times (s) of the frames whose scene score passes the threshold, from one decode of a small copy. */
async function sceneChanges(job: DecodeJob, onTime: (seconds: number) => void): Promise<{ scenes: number[]; lastTime: number }> {
  const { stderr } = await runFfmpeg(job.ffmpeg, ["-i", job.input, "-an", "-vf", `scale=160:-2,select='gt(scene\\,${SCENE_THRESHOLD})+eq(n\\,0)',showinfo`, "-vsync", "vfr", "-f", "null", "-"], {
    timeoutMs: 10 * 60_000,
    onTime,
  });
  const times = [...stderr.matchAll(/pts_time:\s*([\d.]+)/g)].map((m) => Number(m[1]));
  const last = [...stderr.matchAll(/time=(\d+):(\d\d):(\d\d(?:\.\d+)?)/g)].pop();
  const lastTime = last ? Number(last[1]) * 3600 + Number(last[2]) * 60 + Number(last[3]) : (times.at(-1) ?? 0);
  return { scenes: times.filter((t) => t > 0), lastTime };
}

/**
 * Frame times: the scene cuts split the clip into shots; every shot gets a
 * frame at its middle (the longest shots first when there are more shots
 * than frames), and the frames left over are spread over the shots by their
 * length, evenly inside each shot. So a cut between two uniform samples is
 * still seen, and a long shot still gets several frames. Sorted, at most `max`.
 */
export function pickFrameTimes({ duration, scenes, max }: { duration: number; scenes: number[]; max: number }): number[] {
  if (duration <= 0) return [0];
  const cuts = [...new Set(scenes.filter((t) => t > 0.05 && t < duration - 0.05))].sort((a, b) => a - b);
  const bounds = [0, ...cuts, duration];
  let shots = bounds.slice(1).map((end, i) => ({ start: bounds[i]!, end, n: 1 }));
  if (shots.length > max) shots = [...shots].sort((a, b) => b.end - b.start - (a.end - a.start)).slice(0, max);
  for (let left = max - shots.length; left > 0; left--) {
    // The shot whose frames are furthest apart gets the next one.
    const widest = shots.reduce((best, s) => ((s.end - s.start) / (s.n + 1) > (best.end - best.start) / (best.n + 1) ? s : best));
    widest.n++;
  }
  const times = shots.flatMap((s) => Array.from({ length: s.n }, (_, i) => s.start + ((i + 0.5) * (s.end - s.start)) / s.n));
  return times.map((t) => Math.round(t * 1000) / 1000).sort((a, b) => a - b);
}

async function readAnimation(job: DecodeJob, report: ReportProgress): Promise<{ info: MediaInfo; images: DerivedImage[] }> {
  const meta = await sharp(job.input, { pages: 1, limitInputPixels: false }).metadata();
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  const pages = meta.pages ?? 1;
  if (width * height > job.limits.maxPixels) {
    throw new MediaRefusal("payload_too_large:upload", `The animation's frames are ${width}×${height}; the limit is ${mp(job.limits.maxPixels)} megapixels per frame.`);
  }
  const delays = meta.delay ?? [];
  const starts: number[] = [];
  let t = 0;
  for (let i = 0; i < pages; i++) {
    starts.push(t);
    t += (delays[i] ?? 100) / 1000;
  }
  const duration = t;
  if (duration > job.limits.maxSeconds) {
    throw new MediaRefusal("payload_too_large:upload", `The animation is ${formatTime(duration)} long; the limit is ${formatTime(job.limits.maxSeconds)}.`);
  }
  const count = Math.min(pages, job.limits.maxFrames);
  const picks = [...new Set(Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * pages) / count)))];
  const images: DerivedImage[] = [];
  for (const page of picks) {
    const file = `frame-${images.length + 1}.png`;
    await sharp(job.input, { page, pages: 1, limitInputPixels: job.limits.maxPixels })
      .resize({ width: FRAME_SIDE, height: FRAME_SIDE, fit: "inside", withoutEnlargement: true })
      .png()
      .toFile(path.join(job.outDir, file));
    images.push({ file, label: `Frame ${images.length + 1}, ${formatTime(starts[page]!)}`, time: starts[page]! });
    report(images.length / picks.length);
  }
  return { info: { kind: "video", format: job.format, durationSeconds: duration, width, height, frameCount: images.length, animated: true }, images };
}

const mp = (pixels: number) => (pixels / 1e6).toFixed(pixels < 1e6 ? 2 : 0);
