import { notFound } from "next/navigation";
import { ChatView } from "@/app/_components/chat-view";
import { currentUserId } from "@/lib/auth/session";
import { toUIMessages } from "@/lib/chat/ui-message";
import { getConversationOrThrow } from "@/lib/db/conversations";
import { env } from "@/lib/env";
import { AppError } from "@/lib/errors";

// GET /c/:id – one conversation, its images and answers (404 for another user's id)
export default async function ConversationPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const userId = await currentUserId();
  if (!userId) notFound();
  const conversation = await getConversationOrThrow({ id, userId }).catch((err) => {
    if (err instanceof AppError && err.type === "not_found") notFound();
    throw err;
  });
  return (
    <ChatView
      key={id}
      conversationId={id}
      initialMessages={toUIMessages(conversation.path, conversation.versions)}
      maxImages={env.MAX_IMAGES_PER_MESSAGE}
      initialSettings={{ systemPrompt: conversation.systemPrompt, settings: conversation.settings }}
      title={conversation.title}
    />
  );
}
