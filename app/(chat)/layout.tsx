import { redirect } from "next/navigation";
import { getServerSession } from "next-auth";
import { Sidebar } from "@/app/_components/sidebar";
import { authOptions } from "@/lib/auth/options";
import { listConversations } from "@/lib/db/conversations";
import { listFolders } from "@/lib/db/folders";
import { getAccountOrThrow } from "@/lib/db/users";

export const dynamic = "force-dynamic";

/** Conversations in the sidebar's first page and in each "Show more". */
const PAGE_SIZE = 30;

/** Every page in this group needs a session; without one the user goes to sign-in. */
export default async function ChatLayout({ children }: { children: React.ReactNode }) {
  const session = await getServerSession(authOptions);
  const userId = session?.user?.id;
  if (!userId) redirect("/signin");
  const [{ conversations, nextCursor }, account, folders] = await Promise.all([
    listConversations({ userId, limit: PAGE_SIZE }),
    getAccountOrThrow({ userId }),
    listFolders({ userId }),
  ]);
  const item = (c: { id: string; title: string; titleByUser: boolean; updatedAt: Date; folderId?: string | null; pinnedAt?: Date | null }) => ({
    id: c.id,
    title: c.title,
    titleByUser: c.titleByUser,
    updatedAt: c.updatedAt.toISOString(),
    folderId: c.folderId ?? null,
    pinnedAt: c.pinnedAt?.toISOString() ?? null,
  });
  return (
    <div className="app-shell">
      {/* The first thing Tab reaches: past the sidebar's links, straight to the page. */}
      <a className="skip-link" href="#content">
        Skip to the content
      </a>
      <Sidebar
        // From the database, not the session token: a display name changed on the account page shows at once.
        user={account.name || account.email}
        conversations={conversations.map(item)}
        folders={folders.map((f) => ({ id: f.id, name: f.name, collapsed: f.collapsed, conversations: f.conversations.map(item), more: f.more }))}
        nextCursor={nextCursor}
        pageSize={PAGE_SIZE}
      />
      {children}
    </div>
  );
}
