import { notFound } from "next/navigation";
import { AccountForm } from "@/app/_components/account-form";
import { ApiKeys } from "@/app/_components/api-keys";
import { SignOutEverywhere } from "@/app/_components/sign-out-everywhere";
import { YourData } from "@/app/_components/your-data";
import { currentUserId } from "@/lib/auth/session";
import { getAccountOrThrow } from "@/lib/db/users";

// GET /settings – the account (display name, password), API keys for the OpenAI-compatible API, export and import of conversations, sign out everywhere
export default async function SettingsPage() {
  const userId = await currentUserId();
  if (!userId) notFound();
  const account = await getAccountOrThrow({ userId });
  return (
    <main id="content" tabIndex={-1} className="chat settings">
      <header className="chat-header">
        <h1 className="settings-title">Account settings</h1>
      </header>
      <div className="settings-body">
        <AccountForm email={account.email} name={account.name} />
        <ApiKeys />
        <YourData />
        <SignOutEverywhere />
      </div>
    </main>
  );
}
