import { redirect } from "next/navigation";
import { currentUserId } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

/** Every page in this group needs a session; without one the user goes to sign-in. */
export default async function ChatLayout({ children }: { children: React.ReactNode }) {
  if (!(await currentUserId())) redirect("/signin");
  return <div className="app-shell">{children}</div>;
}
