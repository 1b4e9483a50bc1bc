import type { FileUIPart } from "ai";
import { NewChatView } from "@/app/_components/new-chat-view";
import { currentUserId } from "@/lib/auth/session";
import { getAttachmentOrThrow } from "@/lib/db/attachments";
import { defaultPreset } from "@/lib/db/presets";
import { env } from "@/lib/env";

// GET /?image=ID – a new, empty conversation (created on the first message), with the user's
// default preset; with `image` (from the Images page's "Ask about this image") that image is attached
export default async function NewChatPage({ searchParams }: { searchParams: Promise<{ image?: string | string[] }> }) {
  const userId = await currentUserId();
  const preset = userId ? await defaultPreset({ userId }) : null;
  const { image } = await searchParams;
  const attached = userId && typeof image === "string" ? await getAttachmentOrThrow({ id: image, userId }).catch(() => null) : null;
  const initialFiles: FileUIPart[] = attached ? [{ type: "file", mediaType: attached.mediaType, url: `/api/uploads/${attached.id}`, filename: "image" }] : [];
  return (
    <NewChatView
      key={attached ? `new-${attached.id}` : "new"}
      conversationId={null}
      initialMessages={[]}
      initialFiles={initialFiles}
      maxImages={env.MAX_IMAGES_PER_MESSAGE}
      initialSettings={{ systemPrompt: preset?.systemPrompt ?? null, settings: preset?.settings ?? {} }}
    />
  );
}
