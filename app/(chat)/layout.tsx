import { redirect } from "next/navigation";
import { getServerSession } from "next-auth";
import { Sidebar } from "@/app/_components/sidebar";
import { authOptions } from "@/lib/auth/options";
import { listConversations } from "@/lib/db/conversations";

export const dynamic = "force-dynamic";

/** Every page in this group needs a session; without one the user goes to sign-in. */
export default async function ChatLayout({ children }: { children: React.ReactNode }) {
  const session = await getServerSession(authOptions);
  const userId = session?.user?.id;
  if (!userId) redirect("/signin");
  const { conversations } = await listConversations({ userId, limit: 100 });
  return (
    <div className="app-shell">
      <Sidebar
        user={session.user?.name || session.user?.email || ""}
        conversations={conversations.map((c) => ({ id: c.id, title: c.title, updatedAt: c.updatedAt.toISOString() }))}
      />
      {children}
    </div>
  );
}
