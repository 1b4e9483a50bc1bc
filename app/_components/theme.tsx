"use client";

import { createContext, useContext, useId, useState } from "react";
import { THEMES, type Theme } from "@/lib/theme";

const ThemeContext = createContext<{ theme: Theme; choose: (theme: Theme) => void }>({ theme: "system", choose: () => {} });

/** Puts `theme` on <html data-theme> (no attribute for `system`: app/globals.css then follows prefers-color-scheme). */
function apply(theme: Theme) {
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
}

/**
 * The signed-in user's theme, as the server rendered it into <html data-theme>
 * (app/layout.tsx), for the switch on the account page to show and change.
 */
export function ThemeProvider({ theme: initial, children }: { theme: Theme; children: React.ReactNode }) {
  const [theme, setTheme] = useState(initial);
  const [seen, setSeen] = useState(initial);
  // A server render (after a sign-in, a refresh) brings the stored theme.
  if (seen !== initial) {
    setSeen(initial);
    setTheme(initial);
  }
  const choose = (next: Theme) => {
    setTheme(next);
    apply(next);
  };
  return <ThemeContext.Provider value={{ theme, choose }}>{children}</ThemeContext.Provider>;
}

const LABELS: Record<Theme, string> = { system: "System", light: "Light", dark: "Dark" };

/** System, light or dark: applied at once, saved to the account (PATCH /api/account), put back if saving fails. */
export function ThemeSwitch() {
  const { theme, choose } = useContext(ThemeContext);
  const [status, setStatus] = useState<{ ok: boolean; text: string } | null>(null);
  const name = useId();

  async function change(next: Theme) {
    const before = theme;
    choose(next);
    setStatus(null);
    const res = await fetch("/api/account", { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ theme: next }) }).catch(() => null);
    if (res?.ok) return setStatus({ ok: true, text: `Theme saved: ${LABELS[next].toLowerCase()}.` });
    choose(before);
    setStatus({ ok: false, text: "Could not save the theme." });
  }

  return (
    <fieldset className="theme-switch">
      <legend>Theme</legend>
      <div className="theme-options">
        {THEMES.map((t) => (
          <label key={t} className="theme-option">
            <input type="radio" name={name} value={t} checked={theme === t} onChange={() => void change(t)} />
            {LABELS[t]}
          </label>
        ))}
      </div>
      <p className="muted small">System follows your device’s light or dark setting.</p>
      {status && (
        <p className={status.ok ? "muted small" : "error small"} role={status.ok ? "status" : "alert"}>
          {status.text}
        </p>
      )}
    </fieldset>
  );
}
