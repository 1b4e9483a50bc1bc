import { z } from "zod";

/** Images are referenced by the URL the upload returned; nothing else is accepted. */
export const UPLOAD_URL = /^\/api\/uploads\/([A-Za-z0-9_-]{1,64})$/;

/** Media types of the files POST /api/uploads accepts (and `*` wildcards a page may send before it knows). */
export const ATTACHABLE_TYPE = /^(image|video|audio)\/|^application\/(pdf|json|vnd\.openxmlformats-officedocument\.spreadsheetml\.sheet)$|^text\/(csv|tab-separated-values)$/;

/** Longest text part, in characters (UTF-16 units). */
export const TEXT_PART_MAX_CHARS = 32_000;
/** Most parts in one message (text and images). */
export const PARTS_MAX = 65;
/**
 * Largest request body: every part a full text part, each character up to
 * 3 bytes of UTF-8, plus 1 KiB of JSON per part and 4 KiB for the rest
 * (about 6.3 MB). Anything this schema accepts fits.
 */
export const CHAT_BODY_MAX_BYTES = PARTS_MAX * (TEXT_PART_MAX_CHARS * 3 + 1024) + 4096;

const textPart = z.object({ type: z.literal("text"), text: z.string().max(TEXT_PART_MAX_CHARS) });
const filePart = z.object({
  type: z.literal("file"),
  // The upload decides what the file is (by its bytes); this only keeps out what cannot be an upload.
  mediaType: z.string().regex(ATTACHABLE_TYPE, "only images, video, audio, PDFs and tables (CSV, TSV, JSON, XLSX) can be attached"),
  url: z.string().regex(UPLOAD_URL, "files must be uploaded first (remote URLs and file paths are not accepted)"),
  filename: z.string().max(500).optional(),
});

/** A conversation id in the chat routes' paths (resume, stop). */
export const chatIdSchema = z.string().min(1).max(64);

/** What the chat page's useChat transport sends: the conversation id and only the new message. */
export const chatRequestSchema = z
  .object({
    id: z.string().min(1).max(64),
    trigger: z.enum(["submit-message", "regenerate-message"]).default("submit-message"),
    message: z
      .object({
        id: z.string().max(100).optional(),
        role: z.literal("user"),
        parts: z.array(z.discriminatedUnion("type", [textPart, filePart])).min(1).max(PARTS_MAX),
      })
      .optional(),
    /**
     * With submit-message: the question this one is a new version of (a new
     * branch from there). With regenerate-message: the answer to write again.
     */
    messageId: z.string().min(1).max(64).optional(),
    /** With a new question: the last message the page shows, which the question follows. */
    parentId: z.string().min(1).max(64).optional(),
    /** With regenerate-message: write more of the answer `messageId` (cut at its length limit) instead of another one. */
    continue: z.boolean().optional(),
    /**
     * What the answer is: the model's text (default), or an image generated from the message's
     * text ("Create image"; a message written as "/draw <prompt>" is one too). Regenerate on a
     * generated image makes another image whatever this says.
     */
    kind: z.enum(["answer", "image"]).default("answer"),
    /** With kind "image": the size ("WxH", one of the generator's), sampling steps and seed; default the generator's (a random seed). */
    image: z
      .object({
        size: z.string().regex(/^\d{1,5}x\d{1,5}$/, "size is WIDTHxHEIGHT, e.g. 128x128").optional(),
        steps: z.number().int().min(1).max(1000).optional(),
        /** The image's seed, to make one again (a seed shown under an image); default a random one. Regenerate always draws with another. */
        seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
      })
      .optional(),
  })
  .refine((b) => b.trigger === "regenerate-message" || b.message, { message: "a message is required", path: ["message"] })
  .refine((b) => !b.continue || (b.trigger === "regenerate-message" && b.messageId), { message: "continue needs regenerate-message and the answer's messageId", path: ["continue"] })
  .refine((b) => !(b.continue && b.kind === "image"), { message: "a generated image cannot be continued", path: ["kind"] });
export type ChatRequest = z.infer<typeof chatRequestSchema>;
