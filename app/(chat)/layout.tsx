import { redirect } from "next/navigation";
import { getServerSession } from "next-auth";
import { Sidebar } from "@/app/_components/sidebar";
import { authOptions } from "@/lib/auth/options";
import { listConversations } from "@/lib/db/conversations";

export const dynamic = "force-dynamic";

/** Conversations in the sidebar's first page and in each "Show more". */
const PAGE_SIZE = 30;

/** Every page in this group needs a session; without one the user goes to sign-in. */
export default async function ChatLayout({ children }: { children: React.ReactNode }) {
  const session = await getServerSession(authOptions);
  const userId = session?.user?.id;
  if (!userId) redirect("/signin");
  const { conversations, nextCursor } = await listConversations({ userId, limit: PAGE_SIZE });
  return (
    <div className="app-shell">
      <Sidebar
        user={session.user?.name || session.user?.email || ""}
        conversations={conversations.map((c) => ({ id: c.id, title: c.title, titleByUser: c.titleByUser, updatedAt: c.updatedAt.toISOString() }))}
        nextCursor={nextCursor}
        pageSize={PAGE_SIZE}
      />
      {children}
    </div>
  );
}
