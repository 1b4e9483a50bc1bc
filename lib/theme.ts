/**
 * The colour schemes a user can pick on the account page: `system` follows
 * the browser's prefers-color-scheme, `light` and `dark` override it. The
 * root layout writes the signed-in user's choice into <html data-theme> on
 * the server, so the first paint already has it (app/globals.css).
 */
export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];

export const isTheme = (value: unknown): value is Theme => typeof value === "string" && (THEMES as readonly string[]).includes(value);
