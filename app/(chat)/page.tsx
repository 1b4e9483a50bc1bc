import { randomUUID } from "node:crypto";
import type { FileUIPart } from "ai";
import { ChatView } from "@/app/_components/chat-view";
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
    <ChatView
      // A key of its own for every visit: "+ New chat" after a first answer (whose URL became
      // /c/:id by history.replaceState, on this same page) must start over, not keep that chat.
      key={randomUUID()}
      conversationId={null}
      initialMessages={[]}
      initialFiles={initialFiles}
      maxImages={env.MAX_IMAGES_PER_MESSAGE}
      initialSettings={{ systemPrompt: preset?.systemPrompt ?? null, settings: preset?.settings ?? {} }}
    />
  );
}
