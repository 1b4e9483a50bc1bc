import { notFound } from "next/navigation";
import { ArchiveList } from "@/app/_components/archive-list";
import { currentUserId } from "@/lib/auth/session";
import { listConversations } from "@/lib/db/conversations";

export const dynamic = "force-dynamic";

/** Archived chats per page ("Show more" loads the next). */
const PAGE_SIZE = 50;

// GET /archived – the user's archived chats, most recently archived first: open, or unarchive (back to the sidebar)
export default async function ArchivedPage() {
  const userId = await currentUserId();
  if (!userId) notFound();
  const { conversations, nextCursor } = await listConversations({ userId, view: "archived", limit: PAGE_SIZE });
  return (
    <main id="content" tabIndex={-1} className="chat archive-page">
      <header className="chat-header">
        <h1 className="settings-title">Archived chats</h1>
      </header>
      <ArchiveList
        initial={conversations.map((c) => ({ id: c.id, title: c.title, archivedAt: c.archivedAt!.toISOString(), updatedAt: c.updatedAt.toISOString() }))}
        nextCursor={nextCursor}
        pageSize={PAGE_SIZE}
      />
    </main>
  );
}
