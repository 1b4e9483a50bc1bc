import { redirect } from "next/navigation";
import { AuthForm } from "@/app/_components/auth-form";
import { currentUserId } from "@/lib/auth/session";

export const dynamic = "force-dynamic";

export default async function SignUpPage() {
  if (await currentUserId()) redirect("/");
  return (
    <main className="auth-page">
      <AuthForm mode="signup" />
    </main>
  );
}
