import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { saveUpload } from "@/lib/storage/save-upload";
import { readUploadBody } from "./read-upload-body";

// POST /api/uploads – one file (multipart field "file", or the raw bytes): an image, video, audio, PDF or table → attachment
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const body = await readUploadBody(req, env.UPLOAD_MAX_BYTES);
  if (!body) throw new AppError("bad_request:upload", 'Send the file as multipart form field "file" or as the request body.');
  const attachment = await saveUpload({ userId, bytes: body.bytes, fileName: body.fileName });
  return json(
    {
      attachment: {
        id: attachment.id,
        mediaType: attachment.mediaType,
        width: attachment.width,
        height: attachment.height,
        byteSize: attachment.byteSize,
        url: `/api/uploads/${attachment.id}`,
      },
    },
    { status: 201 },
  );
});
