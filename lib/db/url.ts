/**
 * Which database a DATABASE_URL names. No imports: the start script, the
 * Prisma configs and the tests use it as well as the app.
 */
export type DatabaseProvider = "sqlite" | "postgresql";

/** `file:…` is SQLite (the embedded default); `postgresql://…` or `postgres://…` is PostgreSQL. */
export function databaseProvider(url: string): DatabaseProvider {
  if (url.startsWith("file:")) return "sqlite";
  if (/^postgres(ql)?:\/\//.test(url)) return "postgresql";
  throw new Error("DATABASE_URL must start with file: (SQLite) or postgresql:// (PostgreSQL)");
}

/** The URL with its password replaced by `***`, for logs. */
export function redactDatabaseUrl(url: string): string {
  if (databaseProvider(url) === "sqlite") return url;
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, "***");
    return u.toString();
  } catch {
    return "postgresql://(unparsable URL)";
  }
}
