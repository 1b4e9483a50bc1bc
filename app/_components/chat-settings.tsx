"use client";

import { useEffect, useRef, useState, type RefObject } from "react";
import type { SamplingSettings } from "@/lib/chat/settings";

interface Value {
  systemPrompt: string | null;
  settings: SamplingSettings;
}

interface Preset extends Value {
  id: string;
  name: string;
  isDefault: boolean;
}

const num = (s: string) => (s.trim() === "" ? undefined : Number(s));

async function errorOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  return body?.error?.message ?? `The server refused the settings (${res.status}).`;
}

/**
 * The conversation's system prompt and sampling settings, and the user's
 * presets. A new chat keeps them until its first message creates it.
 */
export function ChatSettings({
  conversationId,
  value,
  onChange,
  disabled,
}: {
  conversationId: RefObject<string | null>;
  value: Value;
  onChange: (value: Value) => void;
  disabled: boolean;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [form, setFormState] = useState({ systemPrompt: "", temperature: "", topP: "", maxTokens: "", seed: "", adapters: null as string[] | null });
  /** The loaded model's LoRA adapters that can be used (from /api/health). */
  const [available, setAvailable] = useState<{ name: string; kinds: string[] }[]>([]);
  const [presets, setPresets] = useState<Preset[]>([]);
  const [presetName, setPresetName] = useState("");
  const [chosen, setChosen] = useState("");
  const [asDefault, setAsDefault] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (open) dialog.current?.showModal();
    else dialog.current?.close();
  }, [open]);

  /** A change to the form: a refusal of the earlier values ("too long") no longer holds. */
  function setForm(next: typeof form) {
    setFormState(next);
    setError(null);
  }

  function load(v: Value) {
    const s = v.settings;
    setForm({
      systemPrompt: v.systemPrompt ?? "",
      temperature: s.temperature?.toString() ?? "",
      topP: s.topP?.toString() ?? "",
      maxTokens: s.maxTokens?.toString() ?? "",
      seed: s.seed?.toString() ?? "",
      // null: chosen automatically (by attachment kind, where the server is set up for it).
      adapters: s.adapters ? s.adapters.map((a) => a.name) : null,
    });
  }

  async function openPanel() {
    load(value);
    setError(null);
    setOpen(true);
    const [res, health] = await Promise.all([fetch("/api/presets", { cache: "no-store" }).catch(() => null), fetch("/api/health", { cache: "no-store" }).catch(() => null)]);
    if (res?.ok) setPresets(((await res.json()) as { presets: Preset[] }).presets);
    const model = health?.ok ? ((await health.json()) as { model?: { adapters?: { name: string; kinds: string[]; refused?: string }[] } }).model : undefined;
    setAvailable((model?.adapters ?? []).filter((a) => !a.refused));
  }

  const current = (): Value => ({
    systemPrompt: form.systemPrompt.trim() ? form.systemPrompt : null,
    settings: Object.fromEntries(
      Object.entries({
        temperature: num(form.temperature),
        topP: num(form.topP),
        maxTokens: num(form.maxTokens),
        seed: num(form.seed),
        adapters: form.adapters?.map((name) => ({ name })),
      }).filter(([, v]) => v !== undefined),
    ) as SamplingSettings,
  });

  async function save() {
    const next = current();
    setSaving(true);
    setError(null);
    try {
      const id = conversationId.current;
      if (id) {
        const res = await fetch(`/api/conversations/${id}`, {
          method: "PATCH",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ systemPrompt: next.systemPrompt, settings: Object.keys(next.settings).length ? next.settings : null }),
        });
        if (!res.ok) return setError(await errorOf(res));
      }
      onChange(next);
      setOpen(false);
    } catch {
      setError("Can’t reach the server. Your settings are not saved yet.");
    } finally {
      setSaving(false);
    }
  }

  async function saveAsPreset() {
    const res = await fetch("/api/presets", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: presetName, ...current(), isDefault: asDefault }),
    }).catch(() => null);
    if (!res) return setError("Can’t reach the server.");
    if (!res.ok) return setError(await errorOf(res));
    const saved = ((await res.json()) as { preset: Preset }).preset;
    setPresets((all) => [...all.filter((p) => p.name !== saved.name).map((p) => (saved.isDefault ? { ...p, isDefault: false } : p)), saved]);
    setPresetName("");
  }

  async function deletePreset(id: string) {
    const res = await fetch(`/api/presets/${id}`, { method: "DELETE" }).catch(() => null);
    if (!res?.ok) return setError("Could not delete the preset.");
    setPresets((all) => all.filter((p) => p.id !== id));
    setChosen("");
  }

  return (
    <>
      <button type="button" className="button header-button" onClick={openPanel} disabled={disabled} aria-haspopup="dialog">
        Chat settings
      </button>
      <dialog
        ref={dialog}
        className="panel"
        aria-labelledby="chat-settings-title"
        onCancel={(e) => {
          e.preventDefault();
          setOpen(false);
        }}
      >
        <form
          className="panel-form"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <h2 id="chat-settings-title">Conversation settings</h2>
          {presets.length > 0 && (
            <label>
              Preset
              <select
                value={chosen}
                onChange={(e) => {
                  setChosen(e.target.value);
                  const p = presets.find((x) => x.id === e.target.value);
                  if (p) load(p);
                }}
              >
                <option value="">Choose a preset…</option>
                {presets.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                    {p.isDefault ? " (default)" : ""}
                  </option>
                ))}
              </select>
            </label>
          )}
          {chosen && (
            <button type="button" className="link-button danger" onClick={() => void deletePreset(chosen)}>
              Delete this preset
            </button>
          )}
          <label>
            System prompt
            <textarea
              rows={4}
              value={form.systemPrompt}
              maxLength={8000}
              placeholder="For example: Answer in one short sentence."
              onChange={(e) => setForm({ ...form, systemPrompt: e.target.value })}
            />
          </label>
          <div className="panel-grid">
            <label>
              Temperature
              <input type="number" min={0} max={2} step={0.05} placeholder="0" value={form.temperature} onChange={(e) => setForm({ ...form, temperature: e.target.value })} />
            </label>
            <label>
              Top-p
              <input type="number" min={0.01} max={1} step={0.01} placeholder="0.95" value={form.topP} onChange={(e) => setForm({ ...form, topP: e.target.value })} />
            </label>
            <label>
              Max answer tokens
              <input type="number" min={1} step={1} placeholder="default" value={form.maxTokens} onChange={(e) => setForm({ ...form, maxTokens: e.target.value })} />
            </label>
            <label>
              Seed
              <input type="number" min={0} step={1} placeholder="random" value={form.seed} onChange={(e) => setForm({ ...form, seed: e.target.value })} />
            </label>
          </div>
          <p className="muted small">Empty fields use the defaults: greedy decoding (temperature 0) and the server’s answer length.</p>
          {(available.length > 0 || form.adapters?.length) && (
            <fieldset className="panel-adapters">
              <legend>Adapters (skills taught to this model)</legend>
              <label>
                <input type="checkbox" checked={form.adapters === null} onChange={(e) => setForm({ ...form, adapters: e.target.checked ? null : [] })} />
                Automatic, by what the conversation shows
              </label>
              {form.adapters !== null &&
                [...new Set([...available.map((a) => a.name), ...form.adapters])].map((name) => {
                  const chosen = form.adapters ?? [];
                  const adapter = available.find((a) => a.name === name);
                  return (
                    <label key={name}>
                      <input
                        type="checkbox"
                        checked={chosen.includes(name)}
                        onChange={(e) => setForm({ ...form, adapters: e.target.checked ? [...chosen, name] : chosen.filter((n) => n !== name) })}
                      />
                      {name}
                      {adapter?.kinds.length ? ` (${adapter.kinds.join(", ")})` : ""}
                      {adapter ? "" : " (not available with this model)"}
                    </label>
                  );
                })}
            </fieldset>
          )}
          {error && (
            <p className="error" role="alert">
              {error}
            </p>
          )}
          <div className="panel-actions">
            <button type="button" className="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" className="button button-primary" disabled={saving}>
              Save
            </button>
          </div>
          <fieldset className="panel-presets">
            <legend>Save these settings as a preset</legend>
            <input aria-label="Preset name" placeholder="Preset name" value={presetName} maxLength={80} onChange={(e) => setPresetName(e.target.value)} />
            <label className="inline">
              <input type="checkbox" checked={asDefault} onChange={(e) => setAsDefault(e.target.checked)} /> Default for new chats
            </label>
            <button type="button" className="button" disabled={!presetName.trim()} onClick={saveAsPreset}>
              Save preset
            </button>
          </fieldset>
        </form>
      </dialog>
    </>
  );
}
