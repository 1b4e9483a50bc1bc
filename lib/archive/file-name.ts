/**
 * A file name made from a title: ASCII letters, digits and dashes only
 * (accents dropped, everything else a dash), at most `max` characters, never
 * empty, never a dot-file, so it is safe in a zip path and a header.
 */
export function fileName(title: string, { fallback = "conversation", max = 60 }: { fallback?: string; max?: number } = {}): string {
  const slug = title
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .slice(0, max)
    .replace(/^-+|-+$/g, "");
  return slug || fallback;
}

/** `attachment; filename="…"` for a name `fileName` made (plus an extension), so no quoting is needed. */
export function contentDisposition(name: string): string {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(name)) throw new Error(`not a safe file name: ${JSON.stringify(name)}`);
  return `attachment; filename="${name}"`;
}
