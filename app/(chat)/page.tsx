import { ChatView } from "@/app/_components/chat-view";
import { env } from "@/lib/env";

// GET / – a new, empty conversation (created on the first message)
export default function NewChatPage() {
  return <ChatView key="new" conversationId={null} initialMessages={[]} maxImages={env.MAX_IMAGES_PER_MESSAGE} />;
}
