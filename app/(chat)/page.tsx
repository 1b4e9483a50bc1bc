import { ChatView } from "@/app/_components/chat-view";
import { currentUserId } from "@/lib/auth/session";
import { defaultPreset } from "@/lib/db/presets";
import { env } from "@/lib/env";

// GET / – a new, empty conversation (created on the first message), with the user's default preset
export default async function NewChatPage() {
  const userId = await currentUserId();
  const preset = userId ? await defaultPreset({ userId }) : null;
  return (
    <ChatView
      key="new"
      conversationId={null}
      initialMessages={[]}
      maxImages={env.MAX_IMAGES_PER_MESSAGE}
      initialSettings={{ systemPrompt: preset?.systemPrompt ?? null, settings: preset?.settings ?? {} }}
    />
  );
}
