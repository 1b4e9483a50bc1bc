import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import type { AttachmentRecord } from "@/lib/db/attachments";
import { env } from "@/lib/env";
import { AppError, errorResponse } from "@/lib/errors";
import { withDecodeProgress, type DecodeProgress } from "@/lib/media/decode-progress";
import { saveUpload } from "@/lib/storage/save-upload";
import { readUploadBody } from "./read-upload-body";

/** The media type a client asks for to be told how the reading of its file goes (one JSON object a line). */
const NDJSON = "application/x-ndjson";

const attachmentBody = (attachment: AttachmentRecord) => ({
  attachment: {
    id: attachment.id,
    mediaType: attachment.mediaType,
    width: attachment.width,
    height: attachment.height,
    byteSize: attachment.byteSize,
    url: `/api/uploads/${attachment.id}`,
  },
});

/**
 * POST /api/uploads – one file (multipart field "file", or the raw bytes): an image, video, audio, PDF or table → attachment.
 *
 * The answer is `201 {attachment}` (or the error's status and `{error}`). A client that sends
 * `Accept: application/x-ndjson` is told how the reading goes instead: once the file is in, a
 * `200` whose body is lines of JSON, `{"type":"progress","kind":"video","percent":40}` while the
 * video's frames (the PDF's pages, …) are read, then one last line with the status the plain
 * answer would have had: `{"type":"done","status":201,"attachment":{…}}` or
 * `{"type":"error","status":413,"error":{code,message}}`. What fails before the file is read
 * (sign-in, size, a missing file) is the plain error answer either way.
 */
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await readUploadBody(req, env.UPLOAD_MAX_BYTES);
  if (!body) throw new AppError("bad_request:upload", 'Send the file as multipart form field "file" or as the request body.');
  if (!(req.headers.get("accept") ?? "").includes(NDJSON)) {
    const attachment = await saveUpload({ userId, bytes: body.bytes, fileName: body.fileName });
    return json(attachmentBody(attachment), { status: 201 });
  }
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async start(controller) {
      let open = true;
      const send = (line: unknown) => {
        if (!open) return;
        try {
          controller.enqueue(encoder.encode(`${JSON.stringify(line)}\n`));
        } catch {
          open = false; // the client went away; the upload is still saved
        }
      };
      let last = -1;
      const onProgress = ({ kind, fraction }: DecodeProgress) => {
        const percent = Math.floor(fraction * 100);
        if (percent === last) return;
        last = percent;
        send({ type: "progress", kind, percent });
      };
      try {
        const attachment = await withDecodeProgress(onProgress, () => saveUpload({ userId, bytes: body.bytes, fileName: body.fileName }));
        send({ type: "done", status: 201, ...attachmentBody(attachment) });
      } catch (err) {
        const res = errorResponse(err);
        send({ type: "error", status: res.status, ...((await res.json()) as object) });
      }
      if (open) controller.close();
    },
  });
  return new Response(stream, {
    status: 200,
    // no-transform: nothing on the way may hold the lines back to compress them.
    headers: { "content-type": `${NDJSON}; charset=utf-8`, "cache-control": "no-store, no-transform", "x-accel-buffering": "no" },
  });
});
