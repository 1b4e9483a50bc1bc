import { ModelsAdmin } from "@/app/_components/models-admin";

// GET /models – the administrator's models: installed ones (size, inputs, fit), pull by name, delete, load
export default function ModelsPage() {
  return (
    <main className="chat settings">
      <header className="chat-header">
        <h1 className="settings-title">Models</h1>
      </header>
      <div className="settings-body">
        <ModelsAdmin />
      </div>
    </main>
  );
}
