import { apiHandler, json } from "@/lib/api/handler";
import { requireUserId } from "@/lib/auth/session";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";
import { saveUpload } from "@/lib/storage/save-upload";
import { readUploadBody } from "./read-upload-body";

// POST /api/uploads – one image (multipart field "file", or the raw bytes) → attachment
export const POST = apiHandler(async (req) => {
  const userId = await requireUserId();
  const bytes = await readUploadBody(req, env.UPLOAD_MAX_BYTES);
  if (!bytes) throw new AppError("bad_request:upload", 'Send the image as multipart form field "file" or as the request body.');
  const attachment = await saveUpload({ userId, bytes });
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
