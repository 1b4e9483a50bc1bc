import { ApiKeys } from "@/app/_components/api-keys";

// GET /settings – API keys for the OpenAI-compatible API
export default function SettingsPage() {
  return (
    <main className="chat settings">
      <header className="chat-header">
        <h1 className="settings-title">Settings</h1>
      </header>
      <div className="settings-body">
        <ApiKeys />
      </div>
    </main>
  );
}
