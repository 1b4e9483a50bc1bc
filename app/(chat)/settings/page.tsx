import { ApiKeys } from "@/app/_components/api-keys";
import { SignOutEverywhere } from "@/app/_components/sign-out-everywhere";
import { YourData } from "@/app/_components/your-data";

// GET /settings – API keys for the OpenAI-compatible API, export and import of conversations, sign out everywhere
export default function SettingsPage() {
  return (
    <main className="chat settings">
      <header className="chat-header">
        <h1 className="settings-title">Settings</h1>
      </header>
      <div className="settings-body">
        <ApiKeys />
        <YourData />
        <SignOutEverywhere />
      </div>
    </main>
  );
}
